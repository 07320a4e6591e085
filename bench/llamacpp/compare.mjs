// Compares two files of per-position top-K lines (JgptTopK.java vs topk.mjs): the share of positions
// whose most likely token agrees, and the largest difference in that token's probability.
import {readFileSync} from "node:fs";
const a = readFileSync(process.argv[2], "utf8").trim().split("\n").map(JSON.parse);
const b = readFileSync(process.argv[3], "utf8").trim().split("\n").map(JSON.parse);
if (a.length !== b.length) { console.log(JSON.stringify({error: `positions differ: ${a.length} vs ${b.length}`})); process.exit(1); }
let agree = 0, maxDiff = 0, nearTies = 0;
for (let i = 0; i < a.length; i++) {
  const pa = new Map(a[i]), pb = new Map(b[i]);
  if (a[i][0][0] === b[i][0][0]) agree++;
  else if (Math.abs(a[i][0][1] - a[i][1][1]) < 1e-3) nearTies++;
  for (const [id, p] of pa) if (pb.has(id)) maxDiff = Math.max(maxDiff, Math.abs(p - pb.get(id)));
}
const out = {positions: a.length, top1Agree: agree, disagreeAtNearTie: nearTies, maxProbDiff: maxDiff};
console.log(JSON.stringify(out));
// optional: the probability bound (default 1e-3) and the share of positions whose top-1 must agree (default all,
// near ties excused), for models whose two implementations round differently (quantized dot products)
const bound = Number(process.argv[4] ?? 1e-3), share = Number(process.argv[5] ?? 1);
process.exit(agree + nearTies >= share * a.length && maxDiff < bound ? 0 : 1);
