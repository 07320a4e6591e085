// Attention view: one layer/head's attention pattern as a heat map, top next-token guesses per position.
import { fillModels, postJson, keyBox, needKey } from '/web/api.js';

const $ = id => document.getElementById(id);
let data = null;

function options(select, n, label) {
  const keep = select.value;
  select.replaceChildren(...Array.from({ length: n }, (_, i) => { const o = document.createElement('option'); o.value = i; o.textContent = `${label} ${i}`; return o; }));
  if (keep && keep < n) select.value = keep;
}

function label(t) { return t.text.replace(/\n/g, '\u21b5').replace(/ /g, '\u00b7'); }

function draw() {
  if (!data) return;
  const rows = data.attention[Number($('layer').value)][Number($('head').value)];
  const T = data.tokens.length;
  const head = document.createElement('tr');
  head.append(document.createElement('th'));
  for (const t of data.tokens) { const th = document.createElement('th'); th.textContent = label(t); th.style.writingMode = 'vertical-rl'; head.append(th); }
  const body = rows.map((row, q) => {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.textContent = label(data.tokens[q]);
    tr.append(th);
    for (let k = 0; k < T; k++) {
      const td = document.createElement('td');
      const p = k <= q ? row[k] : 0;
      td.style.background = k <= q ? `rgba(47, 111, 222, ${p})` : '#f3f3f3';
      td.title = k <= q ? `${label(data.tokens[q])} → ${label(data.tokens[k])}: ${p}` : '';
      tr.append(td);
    }
    tr.addEventListener('click', () => showTop(q));
    return tr;
  });
  $('heat').replaceChildren(head, ...body);
}

function showTop(q) {
  $('pos').textContent = `"${label(data.tokens[q])}" (position ${q})`;
  $('top').replaceChildren(...data.top[q].map(e => {
    const tr = document.createElement('tr');
    tr.innerHTML = '<td></td><td></td><td></td>';
    tr.children[0].textContent = JSON.stringify(e.text);
    tr.children[1].textContent = 'id ' + e.id;
    tr.children[2].textContent = (e.p * 100).toFixed(1) + '%';
    return tr;
  }));
}

async function show() {
  $('status').textContent = 'running…';
  try {
    data = await postJson('/api/attention', { model: $('model').value, text: $('text').value, top_k: 5 });
  } catch (e) { if (!needKey(e)) $('status').textContent = e.message; return; }
  $('status').textContent = `${data.tokens.length} tokens · ${data.layers} layers × ${data.heads} heads`;
  options($('layer'), data.layers, 'layer');
  options($('head'), data.heads, 'head');
  draw();
  showTop(data.tokens.length - 1);
}

$('show').addEventListener('click', show);
$('layer').addEventListener('change', draw);
$('head').addEventListener('change', draw);
keyBox(() => location.reload());
fillModels($('model'), false).then(show).catch(e => needKey(e));
