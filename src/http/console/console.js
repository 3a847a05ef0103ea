// The Reelay web console: plain DOM over the public API (the same calls as curl, the CLI and the SDK).
// Loads nothing but this server's own files; the API key lives in sessionStorage for this tab only.
import { api, idempotencyKey, KEY_STORAGE } from './api.js';
import { openExtend, wireExtend } from './extend.js';
import { lastFrameFor, referenceRoom, referencesFor, requestBody, wireExtras } from './extras.js';
import { pickImage } from './image.js';
import { applyModel, currentModel, loadBalance, loadModels, pickersWaiting, price, updatePrice } from './pickers.js';
import { loadTasks, onExtend, showTask, watch } from './tasks.js';
import { $, fmt, showError, state } from './ui.js';

/** The API's `param` → the control that sets it, so an error can mark that control and go once it changes. */
const FIELD = {
  images: 'image', 'images[1]': 'last-frame', reference_images: 'references', prompt: 'prompt', model: 'model', size: 'size',
  seconds: 'seconds', duration: 'seconds', aspect_ratio: 'aspect', generate_audio: 'audio', off_peak: 'off-peak', is_rec: 'is-rec',
};
const fieldOf = (param) => FIELD[param] ?? FIELD[String(param ?? '').replace(/\[\d+\]$/, '')];

/** Submit errors sit beside the Generate button (role=alert), and mark the control at fault. */
function setFormError(e, field = fieldOf(e.param)) {
  clearFormError();
  state.formError = { code: e.code, field };
  showError('form-error', e);
  if (field) $(field).setAttribute('aria-invalid', 'true');
  // The whole action area (price, error, button), not just the error: the new line pushes the button down.
  document.querySelector('#generate .form-actions').scrollIntoView({ block: 'nearest' });
}

function clearFormError() {
  const field = state.formError?.field;
  // The image's own check (image-info) owns its aria-invalid while the chosen file is refused.
  if (field && !(field === 'image' && !state.image && $('image').files.length)) $(field).removeAttribute('aria-invalid');
  state.formError = null;
  showError('form-error', null);
}

/** A stale error is worse than none: it goes as soon as the form no longer has that problem. */
function formChanged(id) {
  const e = state.formError;
  if (!e) return;
  if (e.code === 'insufficient_credits' && state.balance !== null) {
    const credits = price();
    if (credits !== null && credits <= state.balance) clearFormError();
    return;
  }
  if (!e.field || e.field === id) clearFormError();
}

/** Focus stays on Generate: moving it to the field would scroll the message out of sight; the field is marked aria-invalid. */
function formFault(message, field, code) {
  setFormError(Object.assign(new Error(message), { code }), field);
}

/** What is wrong with the optional inputs the model takes, as [message, control], or null. */
function extrasFault(m) {
  const refs = referencesFor(m);
  if (m.last_frame && $('last-frame').files.length && !state.lastFrame) return ['The last frame was refused (see above it): choose another or remove it.', 'last-frame'];
  if (referenceRoom(m) && $('references').files.length && !refs.length) return ['The reference images were refused (see above them): choose others or remove them.', 'references'];
  if (lastFrameFor(m) && refs.length) return ['A last frame and reference images cannot go together: remove one of them.', 'references'];
  if (refs.length > referenceRoom(m)) return [`${m.display_name} takes at most ${referenceRoom(m)} reference images besides the start image.`, 'references'];
  return null;
}

async function submit(ev) {
  ev.preventDefault();
  clearFormError();
  $('form-status').textContent = '';
  const m = currentModel();
  if (!m) return formFault('Use an API key first (Connect, at the top): the models and prices come from the server.', undefined, 'no_key');
  if (!state.image) return formFault('Choose a start image (PNG, JPEG or WebP, 1:4 to 4:1) at the top of this form.', 'image');
  const prompt = $('prompt').value.trim();
  if (!prompt) return formFault('Write a prompt: the motion you want to see.', 'prompt');
  const fault = extrasFault(m);
  if (fault) return formFault(...fault);
  const request = await requestBody(m, prompt);
  const go = $('submit');
  go.disabled = true;
  $('form-status').textContent = 'Uploading…';
  try {
    const task = await api('/v1/video/generations', { method: 'POST', ...request, headers: { ...request.headers, 'idempotency-key': idempotencyKey() } });
    $('form-status').textContent = `Submitted ${task.id}; follow it under Current task.`;
    showTask(task);
    // On one column the task card is below the form: bring it into view.
    if (matchMedia('(max-width: 760px)').matches) $('current').scrollIntoView({ block: 'start' });
    void loadBalance().catch((e) => showError('current-error', e));
    void loadTasks().catch((e) => showError('tasks-error', e));
    void watch(task.id);
  } catch (e) {
    $('form-status').textContent = '';
    setFormError(e);
    if (e.code === 'insufficient_credits') void loadBalance().catch(() => {});
  } finally {
    go.disabled = false;
  }
}

async function connect() {
  showError('key-error', null);
  $('key-status').textContent = '';
  try {
    await loadModels();
    await Promise.all([loadBalance(), loadTasks()]);
    $('key-status').textContent = `Connected: ${fmt(state.models.length)} models loaded.`;
    if (state.formError?.code === 'no_key') clearFormError();
  } catch (e) {
    if (e.status === 401) sessionStorage.removeItem(KEY_STORAGE);
    showError('key-error', e);
  }
}

function forget() {
  sessionStorage.removeItem(KEY_STORAGE);
  state.watch++;
  state.balance = null;
  clearTimeout(state.tasksTimer);
  $('api-key').value = '';
  $('balance').textContent = 'Credits: –';
  $('key-status').textContent = 'Key forgotten.';
  $('tasks').replaceChildren();
  $('current').hidden = true;
  pickersWaiting();
}

function wireImage() {
  const onValid = () => formChanged('image');
  $('image').addEventListener('change', () => pickImage($('image').files[0], onValid));
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
    pickImage(file, onValid);
  });
}

function init() {
  pickersWaiting();
  const saved = sessionStorage.getItem(KEY_STORAGE);
  if (saved) $('api-key').value = saved;
  $('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = $('api-key').value.trim();
    if (!key) { showError('key-error', new Error('Paste an API key (rly_…).')); return; }
    sessionStorage.setItem(KEY_STORAGE, key);
    void connect();
  });
  $('forget-key').addEventListener('click', forget);
  wireImage();
  wireExtras(() => { applyModel(); formChanged('last-frame'); formChanged('references'); });
  wireExtend();
  onExtend(openExtend);
  $('model').addEventListener('change', applyModel);
  $('aspect').addEventListener('change', () => { state.aspectManual = true; applyModel(); });
  $('size').addEventListener('change', applyModel);
  $('audio').addEventListener('change', () => { state.audioWanted = $('audio').checked; updatePrice(); });
  for (const id of ['seconds', 'off-peak', 'is-rec']) $(id).addEventListener('change', updatePrice);
  $('use-successor').addEventListener('click', () => {
    const next = currentModel()?.successor;
    if (next) { $('model').value = next; applyModel(); formChanged('model'); $('model').focus(); }
  });
  // Bubbles after each control's own listener, so the pickers and the price are already up to date.
  for (const type of ['change', 'input']) {
    // The image pickers check their file first, then report (onValid, wireExtras).
    $('generate').addEventListener(type, (ev) => { if (!['image', 'last-frame', 'references'].includes(ev.target.id)) formChanged(ev.target.id); });
  }
  $('generate').addEventListener('submit', submit);
  $('refresh').addEventListener('click', () => {
    showError('tasks-error', null);
    loadTasks().catch((e) => showError('tasks-error', e));
    loadBalance().catch((e) => showError('tasks-error', e));
  });
  if (saved) void connect();
}

init();
