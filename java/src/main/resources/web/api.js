// Talking to jgpt serve: JSON calls and server-sent events over fetch (so the API key header can go along).

export function apiKey() { return sessionStorage.getItem('jgpt-api-key') || ''; }
export function setApiKey(k) { sessionStorage.setItem('jgpt-api-key', k || ''); }

function headers(json) {
  const h = {};
  if (json) h['Content-Type'] = 'application/json';
  const k = apiKey();
  if (k) h['Authorization'] = 'Bearer ' + k;
  return h;
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || ('HTTP ' + status));
    this.status = status;
  }
}

export async function getJson(path) {
  const r = await fetch(path, { headers: headers(false) });
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, body);
  return body;
}

export async function postJson(path, payload, signal) {
  const r = await fetch(path, { method: 'POST', headers: headers(true), body: JSON.stringify(payload), signal });
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, body);
  return body;
}

// Reads a text/event-stream response and calls onEvent(name, data) per event; resolves at the end.
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length) onEvent(name, data.join('\n'));
    }
  }
}

export async function streamPost(path, payload, onEvent, signal) {
  const r = await fetch(path, { method: 'POST', headers: headers(true), body: JSON.stringify(payload), signal });
  if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => null));
  await readEvents(r, onEvent);
}

export async function streamGet(path, onEvent, signal) {
  const r = await fetch(path, { headers: headers(false), signal });
  if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => null));
  await readEvents(r, onEvent);
}

// Fills a <select> with the served models; keeps ?model=NAME selected when given.
export async function fillModels(select, wantChat) {
  const list = (await getJson('/v1/models')).data;
  const wanted = new URLSearchParams(location.search).get('model');
  select.replaceChildren();
  for (const m of list) {
    if (wantChat && !m.chat) continue;
    const o = document.createElement('option');
    o.value = m.id;
    o.textContent = m.id;
    o.dataset.context = m.context_length;
    select.append(o);
  }
  if (wanted && [...select.options].some(o => o.value === wanted)) select.value = wanted;
  return list;
}

// The API key box every page has: shown when the server answers 401.
export function keyBox(onSet) {
  const box = document.getElementById('keybox');
  if (!box) return;
  const input = box.querySelector('input');
  input.value = apiKey();
  box.querySelector('button').addEventListener('click', () => { setApiKey(input.value.trim()); box.hidden = true; onSet && onSet(); });
}

export function needKey(e) {
  if (e instanceof ApiError && e.status === 401) {
    const box = document.getElementById('keybox');
    if (box) box.hidden = false;
    return true;
  }
  return false;
}
