// The web chat: the conversation lives in this page; answers stream in as the server produces them.
import { fillModels, getJson, streamPost, keyBox, needKey } from '/web/api.js';

const $ = id => document.getElementById(id);
const conversation = [];
let controller = null;
let styles = [];

function addMessage(role, text) {
  const div = document.createElement('div');
  div.className = 'msg ' + role;
  div.textContent = text;
  $('messages').append(div);
  div.scrollIntoView({ block: 'end' });
  return div;
}

function contextOf() {
  const o = $('model').selectedOptions[0];
  return o ? Number(o.dataset.context) : 0;
}

function showBudget(usage) {
  const ctx = contextOf();
  if (!usage) { $('budget').textContent = 'Token budget: context ' + ctx + ' tokens'; return; }
  const left = Math.max(0, ctx - usage.total_tokens);
  $('budget').textContent = `Token budget: ${usage.prompt_tokens} prompt + ${usage.completion_tokens} reply = ${usage.total_tokens} of ${ctx} (${left} left)`;
}

function applyStyle(name) {
  const s = styles.find(x => x.name === name);
  if (!s) return;
  $('system').value = s.system_prompt;
  $('temperature').value = s.temperature;
  $('top_k').value = s.top_k;
  $('top_p').value = s.top_p;
  $('repetition_penalty').value = s.repetition_penalty;
  $('temperature-v').textContent = s.temperature;
}

function request() {
  const messages = [];
  const system = $('system').value.trim();
  if (system) messages.push({ role: 'system', content: system });
  messages.push(...conversation);
  const body = {
    model: $('model').value, messages, stream: true, stream_options: { include_usage: true },
    temperature: Number($('temperature').value), top_k: Number($('top_k').value), top_p: Number($('top_p').value),
    repetition_penalty: Number($('repetition_penalty').value), max_tokens: Number($('max_tokens').value),
  };
  if ($('seed').value !== '') body.seed = Number($('seed').value);
  if ($('stop').value !== '') body.stop = [$('stop').value];
  return body;
}

async function send() {
  const text = $('input').value.trim();
  if (!text || controller) return;
  $('input').value = '';
  conversation.push({ role: 'user', content: text });
  addMessage('user', text);
  const bubble = addMessage('assistant', '');
  bubble.classList.add('streaming');
  controller = new AbortController();
  $('send').disabled = true;
  $('stop-button').disabled = false;
  $('status').textContent = 'generating…';
  let answer = '', chunks = 0, finish = null;
  try {
    await streamPost('/v1/chat/completions', request(), (name, data) => {
      if (data === '[DONE]') return;
      const j = JSON.parse(data);
      if (j.error) throw new Error(j.error.message);
      if (j.usage) showBudget(j.usage);
      const c = j.choices && j.choices[0];
      if (!c) return;
      if (c.delta && c.delta.content) {
        answer += c.delta.content;
        chunks++;
        bubble.textContent = answer;
        $('status').textContent = `generating… ${chunks} pieces`;
      }
      if (c.finish_reason) finish = c.finish_reason;
      if (j.jgpt) $('status').textContent = `done (${finish}) · first token ${j.jgpt.time_to_first_token_ms.toFixed(0)} ms · ${j.jgpt.tokens_per_second.toFixed(1)} tokens/s`;
    }, controller.signal);
  } catch (e) {
    if (e.name === 'AbortError') $('status').textContent = 'stopped';
    else if (!needKey(e)) { bubble.classList.add('error'); bubble.textContent = answer + (answer ? '\n' : '') + '⚠ ' + e.message; }
  } finally {
    bubble.classList.remove('streaming');
    bubble.classList.add('done');
    conversation.push({ role: 'assistant', content: answer });
    controller = null;
    $('send').disabled = false;
    $('stop-button').disabled = true;
  }
}

async function init() {
  keyBox(init);
  try {
    await fillModels($('model'), true);
    styles = (await getJson('/api/styles')).styles;
  } catch (e) {
    if (!needKey(e)) $('status').textContent = e.message;
    return;
  }
  $('style').replaceChildren(...styles.map(s => { const o = document.createElement('option'); o.value = s.name; o.textContent = `${s.name} – ${s.description}`; return o; }));
  applyStyle('balanced');
  $('style').value = 'balanced';
  if (!$('model').value) $('status').textContent = 'No chat model is being served (start jgpt serve with --model RUN).';
  showBudget(null);
}

$('style').addEventListener('change', e => applyStyle(e.target.value));
$('temperature').addEventListener('input', e => { $('temperature-v').textContent = e.target.value; });
$('model').addEventListener('change', () => showBudget(null));
$('send').addEventListener('click', send);
$('stop-button').addEventListener('click', () => controller && controller.abort());
$('clear').addEventListener('click', () => { conversation.length = 0; $('messages').replaceChildren(); showBudget(null); });
$('input').addEventListener('keydown', e => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send(); } });
init();
