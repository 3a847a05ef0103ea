// The Reelay web console: plain DOM over the public API (the same calls as curl, the CLI and the SDK).
// Loads nothing but this server's own files; the API key lives in sessionStorage for this tab only.

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = 'reelay.apiKey';
const POLL_MS = 1000;
const TASKS_REFRESH_MS = 3000;
const MAX_BODY_BYTES = 20 * 1024 * 1024;
const ENDED = new Set(['succeeded', 'failed', 'cancelled']);

const state = { models: [], balance: null, image: null, watch: 0, tasksTimer: 0, audioWanted: true };

class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, init = {}) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (!key) throw new ApiError('Paste an API key first.', 0, 'no_key');
  let res;
  try {
    res = await fetch(path, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers || {}) } });
  } catch {
    throw new ApiError('The server could not be reached.', 0, 'network');
  }
  const body = (res.headers.get('content-type') || '').includes('json') ? await res.json() : null;
  if (!res.ok) throw new ApiError(body?.error?.message || `HTTP ${res.status}`, res.status, body?.error?.code);
  return body;
}

function showError(e) {
  $('error').textContent = e ? (e.message || String(e)) : '';
}

const fmt = (n) => n.toLocaleString('en-US');

function option(value, text = String(value)) {
  const o = document.createElement('option');
  o.value = String(value);
  o.textContent = text;
  return o;
}

function fill(select, values, preferred, label) {
  const keep = values.map(String).includes(select.value) ? select.value : String(preferred ?? values[0]);
  select.replaceChildren(...values.map((v) => option(v, label ? label(v) : String(v))));
  select.value = values.map(String).includes(keep) ? keep : String(values[0]);
}

const currentModel = () => state.models.find((m) => m.id === $('model').value);

/** Offer only what the chosen model accepts (GET /v1/models). */
function applyModel() {
  const m = currentModel();
  if (!m) return;
  fill($('size'), m.sizes.map((s) => s.name), m.default_size,
    (name) => { const s = m.sizes.find((x) => x.name === name); return `${name} (${s.landscape})`; });
  // With a start image some models render one fixed duration (Veo 3.1 → 8 s).
  const fixed = m.seconds_with_images;
  fill($('seconds'), fixed ? [fixed] : m.seconds, m.default_seconds, (s) => `${s} s`);
  $('seconds').disabled = Boolean(fixed);
  $('seconds-note').textContent = fixed ? `${m.display_name} always renders ${fixed} s from a start image.` : '';
  const portrait = state.image && state.image.height > state.image.width;
  fill($('aspect'), m.aspect_ratios, portrait && m.aspect_ratios.includes('9:16') ? '9:16' : m.aspect_ratios[0]);
  $('audio').disabled = !m.audio;
  $('audio').checked = m.audio && state.audioWanted;
  updatePrice();
}

/** The server's formula (API.md §7): ceil((s × (per_second[size] + audio) + is_rec) × (1 − off_peak_discount)). */
function price() {
  const m = currentModel();
  if (!m) return null;
  const p = m.pricing;
  const seconds = Number($('seconds').value);
  const audio = m.audio && $('audio').checked ? p.audio_credits_per_second : 0;
  const full = seconds * ((p.credits_per_second[$('size').value] ?? 0) + audio) + ($('is-rec').checked ? p.is_rec_surcharge : 0);
  return Math.ceil(full * ($('off-peak').checked ? 1 - p.off_peak_discount : 1));
}

function updatePrice() {
  const credits = price();
  const out = $('price');
  if (credits === null) { out.textContent = '–'; return; }
  const short = state.balance !== null && credits > state.balance;
  out.textContent = `${fmt(credits)} credits${short ? ` — more than your balance (${fmt(state.balance)})` : ''}`;
  out.className = short ? 'bad' : '';
}

async function loadModels() {
  const { data } = await api('/v1/models');
  state.models = data;
  const select = $('model');
  const keep = select.value;
  select.replaceChildren(...data.map((m) => {
    const o = option(m.id, m.display_name);
    o.title = m.id;
    return o;
  }));
  if (data.some((m) => m.id === keep)) select.value = keep;
  applyModel();
}

async function loadBalance() {
  const b = await api('/v1/credits?limit=1');
  state.balance = b.balance;
  $('balance').textContent = `Credits: ${fmt(b.balance)}${b.reserved_in_flight ? ` (${fmt(b.reserved_in_flight)} reserved)` : ''}`;
  updatePrice();
}

function describe(t) {
  const pct = `${t.progress}%`;
  if (t.status === 'succeeded') {
    const m = t.metadata;
    return `${t.id} succeeded${m ? `: ${m.duration} s, ${m.width}×${m.height}` : ''}.`;
  }
  if (t.error) return `${t.id} ${t.status}: ${t.error.message}`;
  return `${t.id} ${t.status} — ${pct}`;
}

function showTask(t) {
  $('current').hidden = false;
  $('progress').value = t.progress;
  $('progress-text').textContent = `${t.progress}%`;
  $('status').textContent = describe(t);
  $('status').className = t.status === 'succeeded' ? 'ok' : ENDED.has(t.status) ? 'bad' : '';
  const player = $('player');
  if (t.status === 'succeeded' && t.url) {
    if (player.dataset.task !== t.id) {
      player.dataset.task = t.id;
      player.src = t.url;
    }
    player.hidden = false;
  } else {
    player.hidden = true;
    player.removeAttribute('src');
    delete player.dataset.task;
  }
}

/** Poll the task every second until it ends; a newer submit (or Play) stops the older loop. */
async function watch(id) {
  const token = ++state.watch;
  for (;;) {
    let t;
    try {
      t = await api(`/v1/video/generations/${encodeURIComponent(id)}`);
    } catch (e) {
      if (token !== state.watch) return;
      showError(e);
      if (e.status === 401 || e.status === 404) return; // the key or the task is gone: polling cannot help
      await new Promise((r) => setTimeout(r, POLL_MS * 3)); // a blip (network, restart): keep following
      continue;
    }
    if (token !== state.watch) return;
    showTask(t);
    if (ENDED.has(t.status)) {
      void loadBalance().catch(showError);
      void loadTasks().catch(showError);
      return;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function taskItem(t) {
  const li = document.createElement('li');
  const thumb = document.createElement(t.thumbnail_url ? 'img' : 'div');
  thumb.className = 'thumb';
  if (t.thumbnail_url) {
    thumb.src = t.thumbnail_url;
    thumb.alt = `First frame of ${t.id}`;
    thumb.loading = 'lazy';
  }
  const body = document.createElement('div');
  const prompt = document.createElement('p');
  prompt.className = 'prompt';
  prompt.textContent = t.prompt;
  prompt.title = t.prompt;
  const meta = document.createElement('p');
  meta.className = 'meta';
  const badge = document.createElement('span');
  badge.className = `badge ${t.status}`;
  badge.textContent = ENDED.has(t.status) ? t.status : `${t.status} ${t.progress}%`;
  meta.append(badge, ` ${t.model} · ${t.seconds} s · ${t.size} · ${t.aspect_ratio}`);
  const actions = document.createElement('div');
  actions.className = 'actions';
  if (t.status === 'succeeded') {
    const play = document.createElement('button');
    play.type = 'button';
    play.className = 'secondary';
    play.textContent = 'Play';
    play.setAttribute('aria-label', `Play ${t.id}`);
    play.addEventListener('click', () => { state.watch++; showTask(t); $('player').focus(); });
    actions.append(play);
  } else if (!ENDED.has(t.status)) {
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'danger';
    cancel.textContent = 'Cancel';
    cancel.setAttribute('aria-label', `Cancel ${t.id}`);
    cancel.addEventListener('click', async () => {
      cancel.disabled = true;
      try {
        await api(`/v1/video/generations/${encodeURIComponent(t.id)}/cancel`, { method: 'POST' });
        showError(null);
      } catch (e) {
        showError(e);
      }
      await Promise.all([loadTasks(), loadBalance()]).catch(showError);
    });
    actions.append(cancel);
  }
  body.append(prompt, meta, actions);
  li.append(thumb, body);
  return li;
}

/** The newest 20 tasks; refreshed every few seconds while any of them is still running. */
async function loadTasks() {
  clearTimeout(state.tasksTimer);
  const { data } = await api('/v1/video/generations?limit=20');
  const list = $('tasks');
  list.replaceChildren(...data.map(taskItem));
  if (!data.length) {
    const li = document.createElement('li');
    li.textContent = 'No tasks yet.';
    list.append(li);
  }
  if (data.some((t) => !ENDED.has(t.status))) state.tasksTimer = setTimeout(() => loadTasks().catch(() => {}), TASKS_REFRESH_MS);
}

function ratioText(w, h) {
  return w >= h ? `${(w / h).toFixed(2)}:1` : `1:${(h / w).toFixed(2)}`;
}

/** Preview the picked image and check what the server will check first: type, size, 1:4–4:1. */
function pickImage(file) {
  const info = $('image-info');
  const preview = $('preview');
  state.image = null;
  $('image').removeAttribute('aria-invalid');
  if (preview.src) URL.revokeObjectURL(preview.src);
  if (!file) { preview.hidden = true; info.textContent = ''; return; }
  const bad = (msg) => {
    info.textContent = msg;
    info.className = 'bad';
    $('image').setAttribute('aria-invalid', 'true');
  };
  if (!['image/png', 'image/jpeg', 'image/webp'].includes(file.type)) return bad(`${file.name} is not a PNG, JPEG or WebP image.`);
  if (file.size > MAX_BODY_BYTES) return bad(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; the limit is 20 MB.`);
  preview.onload = () => {
    const w = preview.naturalWidth, h = preview.naturalHeight;
    const ratio = w / h;
    preview.hidden = false;
    if (ratio < 0.25 || ratio > 4) return bad(`${w}×${h} px, ratio ${ratioText(w, h)}: outside the allowed 1:4 to 4:1. Crop it first.`);
    state.image = { file, width: w, height: h };
    info.textContent = `${w}×${h} px, ratio ${ratioText(w, h)} — within 1:4 to 4:1.`;
    info.className = 'ok';
    applyModel();
  };
  preview.onerror = () => bad(`${file.name} could not be read as an image.`);
  preview.src = URL.createObjectURL(file);
}

/** crypto.randomUUID needs a secure context; getRandomValues works on plain-http LAN addresses too. */
function idempotencyKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function submit(ev) {
  ev.preventDefault();
  showError(null);
  const m = currentModel();
  if (!m) return showError(new Error('Use an API key first: the models come from the server.'));
  if (!state.image) { $('image').focus(); return showError(new Error('Choose a start image (PNG, JPEG or WebP, 1:4 to 4:1).')); }
  const prompt = $('prompt').value.trim();
  if (!prompt) { $('prompt').focus(); return showError(new Error('Write a prompt: the motion you want to see.')); }
  const form = new FormData();
  form.set('model', m.id);
  form.set('prompt', prompt);
  form.set('aspect_ratio', $('aspect').value);
  form.set('size', $('size').value);
  form.set('seconds', $('seconds').value);
  if (m.audio) form.set('generate_audio', String($('audio').checked));
  form.set('off_peak', String($('off-peak').checked));
  form.set('is_rec', String($('is-rec').checked));
  form.set('images', state.image.file, state.image.file.name);
  const button = $('submit');
  button.disabled = true;
  try {
    const task = await api('/v1/video/generations', { method: 'POST', body: form, headers: { 'idempotency-key': idempotencyKey() } });
    showTask(task);
    void loadBalance().catch(showError);
    void loadTasks().catch(showError);
    void watch(task.id);
  } catch (e) {
    showError(e);
  } finally {
    button.disabled = false;
  }
}

async function connect() {
  showError(null);
  try {
    await loadModels();
    await Promise.all([loadBalance(), loadTasks()]);
  } catch (e) {
    if (e.status === 401) sessionStorage.removeItem(KEY_STORAGE);
    showError(e);
  }
}

function init() {
  const saved = sessionStorage.getItem(KEY_STORAGE);
  if (saved) $('api-key').value = saved;
  $('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = $('api-key').value.trim();
    if (!key) return showError(new Error('Paste an API key (rly_…).'));
    sessionStorage.setItem(KEY_STORAGE, key);
    void connect();
  });
  $('forget-key').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORAGE);
    $('api-key').value = '';
    $('balance').textContent = 'Credits: –';
    $('tasks').replaceChildren();
  });
  $('image').addEventListener('change', () => pickImage($('image').files[0]));
  const drop = $('drop');
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    const file = ev.dataTransfer.files[0];
    if (!file) return;
    const dt = new DataTransfer();
    dt.items.add(file);
    $('image').files = dt.files;
    pickImage(file);
  });
  $('model').addEventListener('change', applyModel);
  $('audio').addEventListener('change', () => { state.audioWanted = $('audio').checked; updatePrice(); });
  for (const id of ['size', 'seconds', 'aspect', 'off-peak', 'is-rec']) $(id).addEventListener('change', updatePrice);
  $('generate').addEventListener('submit', submit);
  $('refresh').addEventListener('click', () => { showError(null); loadTasks().catch(showError); loadBalance().catch(showError); });
  if (saved) void connect();
}

init();
