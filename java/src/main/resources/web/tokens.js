// Tokenizer view: text -> coloured pieces and ids, live as you type.
import { fillModels, postJson, keyBox, needKey } from '/web/api.js';

const $ = id => document.getElementById(id);
let timer = null, seq = 0;

function colour(i) { return `hsl(${(i * 67) % 360} 70% 85%)`; }

async function update() {
  const mine = ++seq;
  let r;
  try { r = await postJson('/api/tokenize', { model: $('model').value, text: $('text').value }); }
  catch (e) { if (!needKey(e)) $('summary').textContent = e.message; return; }
  if (mine !== seq) return; // an older answer arriving late
  $('summary').textContent = `${r.count} tokens · ${r.chars} characters · ${r.bytes} bytes` +
    (r.count ? ` · ${(r.bytes / r.count).toFixed(2)} bytes per token` : '');
  $('pieces').replaceChildren(...r.tokens.map((t, i) => {
    const s = document.createElement('span');
    s.className = 'tok' + (t.special ? ' special' : '');
    s.style.background = colour(i);
    s.textContent = t.text;
    s.title = 'id ' + t.id;
    s.dataset.id = t.id;
    return s;
  }));
  $('ids').textContent = JSON.stringify(r.tokens.map(t => t.id));
}

$('text').addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(update, 120); });
$('model').addEventListener('change', update);
keyBox(() => location.reload());
fillModels($('model'), false).then(update).catch(e => needKey(e));
