// The model, aspect, size and seconds pickers, filled from GET /v1/models, and the price they add up to.
import { api } from './api.js';
import { lastFrameFor, referencesFor, showExtras } from './extras.js';
import { $, fill, fmt, option, state } from './ui.js';

const PICKERS = ['model', 'aspect', 'size', 'seconds'];

/** Credits per second at a size (the model's default size unless given), audio included when the model has it. */
export const perSecond = (m, size = m.default_size) =>
  (m.pricing.credits_per_second[size] ?? Infinity) + (m.audio ? m.pricing.audio_credits_per_second : 0);

/** A newcomer's first video: the cheapest current, available model with audio; catalog order breaks ties. */
export function defaultModel(models) {
  const current = models.filter((m) => !m.deprecated && m.available !== false);
  const pool = [current.filter((m) => m.audio), current, models].find((list) => list.length) ?? [];
  return pool.reduce((best, m) => (perSecond(m) < perSecond(best) ? m : best), pool[0]);
}

/** The server's rule (submit-rules nearestAspect): by log ratio, so 2:1 and 1:2 are equally far from 1:1. */
export function nearestAspect(width, height, ratios) {
  const dist = (r) => { const [w, h] = r.split(':').map(Number); return Math.abs(Math.log(w / h) - Math.log(width / height)); };
  return [...ratios].sort((a, b) => dist(a) - dist(b))[0];
}

/**
 * Durations a model renders at a size: a start image may fix it (Veo 3.1 previews), a size may narrow it
 * (1080p: 8 s), and so may reference images (Veo 3.1: 8 s) or a last frame (Vidu Q2: up to 8 s).
 */
export function secondsFor(m, size) {
  let base = m.seconds_with_images ? [m.seconds_with_images] : m.seconds;
  const narrow = (allowed) => { if (allowed) base = base.filter((s) => allowed.includes(s)); };
  if (referencesFor(m).length) narrow(m.reference_images.seconds);
  if (lastFrameFor(m)) narrow(m.last_frame_seconds);
  narrow(m.seconds_by_size?.[size]);
  return base;
}

export const currentModel = () => state.models.find((m) => m.id === $('model').value);

/** Before a key there is no catalog: say so in the pickers instead of leaving them empty. */
export function pickersWaiting() {
  state.models = [];
  for (const id of PICKERS) {
    $(id).replaceChildren(option('', id === 'model' ? 'Use an API key to load the models' : '–'));
    $(id).disabled = true;
  }
  $('pickers-hint').hidden = false;
  for (const id of ['model-note', 'seconds-note']) $(id).textContent = '';
  $('use-successor').hidden = true;
  applyModel();
}

function modelLabel(m, byId) {
  if (m.deprecated) return `${m.display_name} → ${byId.get(m.successor)?.display_name ?? 'retired'}`;
  const rate = `${fmt(perSecond(m))} credits/s${m.audio ? '' : ', no audio'}`;
  return `${m.display_name} — ${rate}${m.available === false ? ' (unavailable now)' : ''}`;
}

export function fillModels(models) {
  state.models = models;
  const byId = new Map(models.map((m) => [m.id, m]));
  const group = (label, list) => {
    const g = document.createElement('optgroup');
    g.label = label;
    g.append(...list.map((m) => {
      const o = option(m.id, modelLabel(m, byId));
      o.title = m.id;
      o.disabled = m.available === false;
      return o;
    }));
    return g;
  };
  const select = $('model');
  const keep = byId.get(select.value);
  const older = models.filter((m) => m.deprecated);
  select.replaceChildren(group('Current models', models.filter((m) => !m.deprecated)),
    ...(older.length ? [group('Older names (still accepted)', older)] : []));
  select.value = keep && keep.available !== false ? keep.id : defaultModel(models)?.id ?? '';
  for (const id of PICKERS) $(id).disabled = false;
  $('pickers-hint').hidden = true;
  applyModel();
}

function chooseAspect(m) {
  const ratios = m.aspect_ratios, now = $('aspect').value;
  if (state.image && !(state.aspectManual && ratios.includes(now))) return nearestAspect(state.image.width, state.image.height, ratios);
  return ratios.includes(now) ? now : ratios[0];
}

const ORIENTATION = { '16:9': 'landscape', '9:16': 'portrait', '1:1': 'square' };

function sizeLabel(m, name) {
  const s = m.sizes.find((x) => x.name === name);
  const aspect = $('aspect').value;
  const px = aspect === '9:16' ? s.portrait : aspect === '16:9' ? s.landscape : '';
  const only = m.seconds_by_size?.[name];
  return `${name}${px ? ` (${px.replace('x', '×')})` : ''}${only ? ` — ${only.join(' or ')} s only` : ''}`;
}

function secondsNote(m, size) {
  if (m.seconds_with_images) return `${m.display_name} always renders ${m.seconds_with_images} s from a start image.`;
  if (referencesFor(m).length && m.reference_images.seconds) return `With reference images, ${m.display_name} renders ${m.reference_images.seconds.join(' or ')} s.`;
  const only = m.seconds_by_size?.[size];
  return only ? `At ${size}, ${m.display_name} renders only ${only.join(' or ')} s; a smaller size allows ${m.seconds.join(', ')} s.` : '';
}

function modelNote(m) {
  const next = m.deprecated ? state.models.find((x) => x.id === m.successor) : undefined;
  $('model-note').textContent = m.deprecated
    ? `${m.id} is an older name${next ? `, served today by ${next.display_name} (${next.id})` : ''}.`
    : `${m.id}${m.audio ? ', with audio' : ''}${m.audio && defaultModel(state.models) === m ? ' — the cheapest model with audio' : ''}.`;
  $('use-successor').hidden = !next;
  if (next) $('use-successor').textContent = `Use ${next.display_name}`;
}

/** Offer only what the chosen model accepts; the aspect follows the start image unless picked by hand since. */
export function applyModel() {
  const m = currentModel();
  if (m) {
    fill($('aspect'), m.aspect_ratios, null, (r) => `${r} (${ORIENTATION[r] ?? 'custom'})`);
    $('aspect').value = chooseAspect(m);
    const sizes = m.sizes.map((s) => s.name).filter((name) => secondsFor(m, name).length);
    fill($('size'), sizes, m.default_size, (name) => sizeLabel(m, name));
    const seconds = secondsFor(m, $('size').value);
    fill($('seconds'), seconds, m.default_seconds, (s) => `${s} s`);
    $('seconds-note').textContent = secondsNote(m, $('size').value);
    $('audio').disabled = !m.audio;
    $('audio').checked = m.audio && state.audioWanted;
    modelNote(m);
  }
  showExtras(m);
  describeAspect(m);
  updatePrice();
}

/** Frame the preview as the video will be (centre-crop to the aspect, API.md §3) and say what the crop removes. */
function describeAspect(m) {
  const note = $('aspect-note');
  const img = state.image;
  const aspect = m && $('aspect').value;
  note.className = 'hint';
  if (!img) { note.textContent = m ? 'The aspect ratio follows the start image once you choose one.' : ''; return; }
  if (!aspect) {
    $('frame').style.setProperty('--ar', String(img.width / img.height));
    note.textContent = 'The aspect ratio is picked from this image once the models load.';
    return;
  }
  const [aw, ah] = aspect.split(':').map(Number);
  $('frame').style.setProperty('--ar', String(aw / ah));
  $('preview').alt = `The start image as the ${aspect} video frames it`;
  const off = Math.log((img.width / img.height) / (aw / ah));
  const best = nearestAspect(img.width, img.height, m.aspect_ratios);
  const better = best !== aspect ? ` ${best} would fit this image better.` : '';
  if (Math.abs(off) < 0.03) { note.textContent = `Output ${aspect}: the whole image fits, nothing is cropped.`; note.className = 'ok'; return; }
  const kept = Math.round(100 * Math.exp(-Math.abs(off)));
  const [sides, dim] = off > 0 ? ['left and right', 'width'] : ['top and bottom', 'height'];
  note.textContent = `Output ${aspect}: the ${sides} of the image are cropped (${kept}% of its ${dim} is kept, as the preview shows).${better}`;
  note.className = 'warn';
}

/** The server's formula (API.md §7): ceil((s × (per_second[size] + audio) + references × each + is_rec) × (1 − off_peak_discount)). */
export function price() {
  const m = currentModel();
  if (!m) return null;
  const p = m.pricing;
  const seconds = Number($('seconds').value);
  const audio = m.audio && $('audio').checked ? p.audio_credits_per_second : 0;
  const references = referencesFor(m).length * (p.reference_image_credits ?? 0);
  const full = seconds * ((p.credits_per_second[$('size').value] ?? 0) + audio) + references + ($('is-rec').checked ? p.is_rec_surcharge : 0);
  return Math.ceil(full * ($('off-peak').checked ? 1 - p.off_peak_discount : 1));
}

export function updatePrice() {
  const credits = price();
  const out = $('price');
  if (credits === null) { out.textContent = '– (use an API key first)'; out.className = ''; return; }
  const short = state.balance !== null && credits > state.balance;
  out.textContent = `${fmt(credits)} credits${short ? ` — more than your balance (${fmt(state.balance)})` : ''}`;
  out.className = short ? 'bad' : '';
}

export async function loadModels() {
  const { data } = await api('/v1/models');
  fillModels(data);
}

export async function loadBalance() {
  const b = await api('/v1/credits?limit=1');
  state.balance = b.balance;
  $('balance').textContent = `Credits: ${fmt(b.balance)}${b.reserved_in_flight ? ` (${fmt(b.reserved_in_flight)} reserved)` : ''}`;
  updatePrice();
}
