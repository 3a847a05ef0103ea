// Extend a finished task from its card: a dialog asks how the video goes on and submits
// extend_task_id with the task's own model (GET /v1/models: extension); the result is the whole, longer video.
import { api, idempotencyKey } from './api.js';
import { loadBalance } from './pickers.js';
import { loadTasks, showTask, watch } from './tasks.js';
import { $, fill, fmt, showError, state } from './ui.js';

let source = null; // { task, model } while the dialog is open

/** A task can be extended when it succeeded and its model continues videos. */
export function extendModel(t) {
  const m = state.models.find((x) => x.id === t.model);
  return t.status === 'succeeded' && m?.extension ? m : null;
}

/** The size an extension renders when none is asked (the server's rule): the model's default if allowed, else the first. */
const extensionSize = (m) => (m.extension.sizes.includes(m.default_size) ? m.default_size : m.extension.sizes[0]);

function extendPrice() {
  const m = source.model, p = m.pricing, seconds = Number($('extend-seconds').value);
  const audio = m.audio ? p.audio_credits_per_second : 0;
  const credits = Math.ceil(seconds * ((p.credits_per_second[extensionSize(m)] ?? 0) + audio));
  const short = state.balance !== null && credits > state.balance;
  $('extend-price').textContent = `${fmt(credits)} credits${short ? ` — more than your balance (${fmt(state.balance)})` : ''}`;
  $('extend-price').className = short ? 'bad' : '';
}

export function openExtend(t) {
  const model = extendModel(t);
  if (!model) return;
  source = { task: t, model };
  const m = t.metadata;
  $('extend-title').textContent = `Extend ${t.id}`;
  $('extend-source').textContent = `${model.display_name} continues this ${m ? `${m.duration} s ` : ''}video from its last frame, `
    + `at ${extensionSize(model)}, ${t.aspect_ratio}; the new task is the whole, longer video.`;
  fill($('extend-seconds'), model.extension.seconds, model.extension.seconds.at(-1), (s) => `${s} s`);
  $('extend-prompt').value = '';
  $('extend-prompt').removeAttribute('aria-invalid');
  showError('extend-error', null);
  extendPrice();
  $('extend-dialog').showModal();
  $('extend-prompt').focus();
}

async function submitExtend(ev) {
  ev.preventDefault();
  showError('extend-error', null);
  const prompt = $('extend-prompt').value.trim();
  if (!prompt) {
    $('extend-prompt').setAttribute('aria-invalid', 'true');
    showError('extend-error', new Error('Write how the video goes on (the motion of the added seconds).'));
    return;
  }
  const go = $('extend-submit');
  go.disabled = true;
  try {
    const task = await api('/v1/video/generations', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey() },
      body: JSON.stringify({ model: source.model.id, prompt, extend_task_id: source.task.id, seconds: Number($('extend-seconds').value) }),
    });
    $('extend-dialog').close();
    $('form-status').textContent = `Submitted ${task.id}, extending ${source.task.id}; follow it under Current task.`;
    showTask(task);
    void loadBalance().catch((e) => showError('current-error', e));
    void loadTasks().catch((e) => showError('tasks-error', e));
    void watch(task.id);
  } catch (e) {
    showError('extend-error', e);
  } finally {
    go.disabled = false;
  }
}

export function wireExtend() {
  $('extend-form').addEventListener('submit', submitExtend);
  $('extend-seconds').addEventListener('change', extendPrice);
  $('extend-prompt').addEventListener('input', () => { $('extend-prompt').removeAttribute('aria-invalid'); showError('extend-error', null); });
  $('extend-cancel').addEventListener('click', () => $('extend-dialog').close());
}
