// The training dashboard: runs in the server's runs directory, live charts from metrics.jsonl via SSE.
import { getJson, postJson, streamGet, keyBox, needKey } from '/web/api.js';
import { LineChart } from '/web/chart.js';

const $ = id => document.getElementById(id);
let follow = null;

async function listRuns() {
  let r;
  try { r = await getJson('/api/runs'); } catch (e) { needKey(e); return; }
  $('runs-dir').textContent = r.runs_dir ? '(' + r.runs_dir + ')' : '(no --runs directory)';
  $('runs').replaceChildren(...r.runs.map(run => {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = '/runs?run=' + encodeURIComponent(run.name);
    a.textContent = run.name;
    a.addEventListener('click', ev => { ev.preventDefault(); history.pushState(null, '', a.href); open(run.name); });
    const last = run.last ? ` step ${run.last.step}, loss ${Number(run.last.loss).toFixed(3)}` : '';
    li.append(a, document.createTextNode(` – ${run.status}${last}`));
    return li;
  }));
}

async function open(name) {
  if (follow) follow.abort();
  follow = new AbortController();
  $('run').hidden = false;
  $('run-name').textContent = name;
  const charts = {
    loss: new LineChart($('chart-loss'), { logY: true }), bpb: new LineChart($('chart-bpb')),
    tps: new LineChart($('chart-tps')), lr: new LineChart($('chart-lr')),
  };
  $('samples').replaceChildren();
  await showDetail(name);
  const phaseColor = p => p === 'sft' ? '#d9480f' : '#2f6fde';
  const onEvent = (event, data) => {
    if (event === 'reset') { Object.values(charts).forEach(c => c.clear()); $('samples').replaceChildren(); return; }
    if (event === 'status') { $('run-status').textContent = '(' + JSON.parse(data).status + ')'; return; }
    if (event === 'checkpoints') { showDetail(name); return; }
    if (event !== 'metric') return;
    const m = JSON.parse(data);
    const phase = m.phase || 'pretrain';
    if (m.kind === 'train') {
      charts.loss.add(phase + ' loss', phaseColor(phase), m.step, m.loss);
      charts.tps.add(phase, phaseColor(phase), m.step, m.tokens_per_s);
      charts.lr.add(phase, phaseColor(phase), m.step, m.lr);
      $('run-last').textContent = `${phase} step ${m.step}: loss ${Number(m.loss).toFixed(4)}, ${m.tokens_per_s} tokens/s, lr ${Number(m.lr).toExponential(2)}`;
    } else if (m.kind === 'eval') {
      if (m.val_loss !== undefined) charts.loss.add(phase + ' val', '#2b8a3e', m.step, m.val_loss);
      if (m.val_bpb !== undefined) charts.bpb.add(phase, phaseColor(phase), m.step, m.val_bpb);
      for (const s of m.samples || []) {
        const li = document.createElement('li');
        li.textContent = `[${phase} ${m.step}] ${s}`;
        $('samples').prepend(li);
      }
    }
  };
  streamGet('/api/runs/' + encodeURIComponent(name) + '/events', onEvent, follow.signal)
    .catch(e => { if (e.name !== 'AbortError') needKey(e); });
}

async function showDetail(name) {
  let d;
  try { d = await getJson('/api/runs/' + encodeURIComponent(name)); } catch (e) { needKey(e); return; }
  $('run-status').textContent = '(' + d.status + ')';
  $('config').textContent = d.config || '(no config.yaml)';
  const rows = d.checkpoints.map(c => {
    const tr = document.createElement('tr');
    const b = document.createElement('button');
    b.textContent = 'Chat with it';
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        const r = await postJson('/api/runs/' + encodeURIComponent(name) + '/chat', { checkpoint: c.id });
        location.href = '/?model=' + encodeURIComponent(r.model);
      } catch (e) { b.disabled = false; if (!needKey(e)) alert(e.message); }
    });
    const td = document.createElement('td');
    td.append(b);
    tr.innerHTML = `<td></td><td></td><td></td>`;
    tr.children[0].textContent = c.id;
    tr.children[1].textContent = c.phase;
    tr.children[2].textContent = 'step ' + c.step;
    tr.append(td);
    return tr;
  });
  $('checkpoints').replaceChildren(...rows);
  if (!rows.length) $('checkpoints').textContent = 'no checkpoints yet';
}

keyBox(() => location.reload());
listRuns();
setInterval(listRuns, 10000);
const wanted = new URLSearchParams(location.search).get('run');
if (wanted) open(wanted);
