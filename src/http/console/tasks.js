// The current task (progress, player, download, copy link) and the history of the key's tasks.
import { api } from './api.js';
import { loadBalance } from './pickers.js';
import { $, button, copyText, ENDED, fmt, showError, state, timeElement } from './ui.js';

const POLL_MS = 1000;
const TASKS_REFRESH_MS = 3000;

const modelName = (id) => state.models.find((m) => m.id === id)?.display_name ?? id;

/** Set by the extend dialog (extend.js, which itself shows and watches tasks from here). */
let extendAction = null;
export function onExtend(action) { extendAction = action; }
const extendable = (t) => t.status === 'succeeded' && Boolean(state.models.find((m) => m.id === t.model)?.extension);

function describe(t) {
  if (t.status === 'succeeded') {
    const m = t.metadata;
    return `${modelName(t.model)} succeeded${m ? `: ${m.duration} s, ${m.width}×${m.height}${m.has_audio ? ', with audio' : ''}` : ''}.`;
  }
  if (t.error) return `${t.status}: ${t.error.message}`;
  return `${t.status} — ${t.progress}%`;
}

/** What the task cost the key: charged on success, refunded in full otherwise, reserved while it runs. */
function cost(t) {
  const c = t.credits;
  if (!c) return '';
  if (t.status === 'succeeded') return `${fmt(c.charged)} credits`;
  if (ENDED.has(t.status)) return `${fmt(c.refunded)} credits refunded`;
  return `${fmt(c.reserved)} credits reserved`;
}

const absolute = (url) => new URL(url, location.href).href;

/** Download and Copy link for a finished task; the copy is confirmed beside the buttons. */
function resultActions(t) {
  const link = document.createElement('a');
  link.className = 'button secondary';
  link.href = t.url;
  link.download = `${t.id}.mp4`;
  link.textContent = 'Download';
  link.setAttribute('aria-label', `Download ${t.id}`);
  const said = document.createElement('span');
  said.className = 'copied';
  said.setAttribute('role', 'status');
  const until = t.expires_at ? `; it works until ${new Date(t.expires_at * 1000).toLocaleString()}` : '';
  const copy = button('Copy link', `Copy link to ${t.id}`, 'secondary', async () => {
    const url = absolute(t.url);
    const ok = await copyText(url);
    copy.focus();
    if (ok) said.textContent = `Link copied${until}.`;
    else window.prompt('Copy this link to the video:', url);
  });
  // Continue the video: only for models that extend (GET /v1/models: extension).
  const extend = extendable(t) && extendAction
    ? [button('Extend', `Extend ${t.id}`, 'secondary', () => extendAction(t))] : [];
  return [link, copy, ...extend, said];
}

export function showTask(t) {
  $('current').hidden = false;
  $('progress').value = t.progress;
  $('progress-text').textContent = `${t.progress}%`;
  $('current-id').textContent = t.id;
  $('status').textContent = describe(t);
  $('status').className = t.status === 'succeeded' ? 'ok' : ENDED.has(t.status) ? 'bad' : '';
  const player = $('player');
  const done = t.status === 'succeeded' && t.url;
  if (done) {
    if (player.dataset.task !== t.id) {
      player.dataset.task = t.id;
      player.src = t.url;
      $('current-actions').replaceChildren(...resultActions(t));
    }
  } else {
    player.removeAttribute('src');
    delete player.dataset.task;
    $('current-actions').replaceChildren();
  }
  player.hidden = !done;
}

/** Poll the task every second until it ends; a newer submit (or Play) stops the older loop. */
export async function watch(id) {
  const token = ++state.watch;
  for (;;) {
    let t;
    try {
      t = await api(`/v1/video/generations/${encodeURIComponent(id)}`);
    } catch (e) {
      if (token !== state.watch) return;
      showError('current-error', e);
      if (e.status === 401 || e.status === 404) return; // the key or the task is gone: polling cannot help
      await new Promise((r) => setTimeout(r, POLL_MS * 3)); // a blip (network, restart): keep following
      continue;
    }
    if (token !== state.watch) return;
    showError('current-error', null);
    showTask(t);
    if (ENDED.has(t.status)) {
      void loadBalance().catch((e) => showError('current-error', e));
      void loadTasks().catch((e) => showError('tasks-error', e));
      return;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function cancelButton(t) {
  const cancel = button('Cancel', `Cancel ${t.id}`, 'danger', async () => {
    cancel.disabled = true;
    try {
      await api(`/v1/video/generations/${encodeURIComponent(t.id)}/cancel`, { method: 'POST' });
      showError('tasks-error', null);
    } catch (e) {
      showError('tasks-error', e);
    }
    await Promise.all([loadTasks(), loadBalance()]).catch((e) => showError('tasks-error', e));
  });
  return cancel;
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
  const badge = document.createElement('span');
  badge.className = `badge ${t.status}`;
  badge.textContent = ENDED.has(t.status) ? t.status : `${t.status} ${t.progress}%`;
  const model = document.createElement('span');
  model.className = 'model';
  model.textContent = modelName(t.model);
  model.title = t.model;
  const head = document.createElement('p');
  head.className = 'meta';
  head.append(badge, ' ', model);
  const meta = document.createElement('p');
  meta.className = 'meta';
  meta.append(timeElement(t.created_at), ` · ${t.seconds} s · ${t.size} · ${t.aspect_ratio} · `);
  const price = document.createElement('span');
  price.className = 'cost';
  price.textContent = cost(t);
  meta.append(price);
  const actions = document.createElement('div');
  actions.className = 'actions';
  if (t.status === 'succeeded' && t.url) {
    const play = button('Play', `Play ${t.id}`, 'secondary', () => { state.watch++; showTask(t); $('player').focus(); });
    actions.append(play, ...resultActions(t));
  } else if (!ENDED.has(t.status)) {
    actions.append(cancelButton(t));
  }
  body.append(prompt, head, meta, actions);
  li.append(thumb, body);
  return li;
}

/** The newest 20 tasks; refreshed every few seconds while any of them is still running. */
export async function loadTasks() {
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
