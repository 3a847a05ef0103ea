// The optional creative inputs of a new video: a last frame and reference images, offered only for
// the models that take them (GET /v1/models: last_frame, reference_images), checked before upload;
// and the submit's body that carries them with the start image.
import { $, state } from './ui.js';

const MAX_BODY_BYTES = 20 * 1024 * 1024;
const TYPES = ['image/png', 'image/jpeg', 'image/webp'];

/** How many pictures `reference_images` may hold next to the start image the console always sends. */
export function referenceRoom(m) {
  const r = m?.reference_images;
  if (!r) return 0;
  return Math.max(0, r.max - (r.start_image_counts || r.only ? 1 : 0));
}

/** The inputs that go with this model's request: a picker the model does not offer is not sent. */
export const lastFrameFor = (m) => (m?.last_frame ? state.lastFrame : null);
export const referencesFor = (m) => (referenceRoom(m) > 0 ? state.references : []);

/** Show the pickers the model takes, and what it does with them. */
export function showExtras(m) {
  const room = referenceRoom(m);
  $('last-frame-box').hidden = !m?.last_frame;
  $('references-box').hidden = room === 0;
  $('extras').hidden = !m?.last_frame && room === 0;
  if (room > 0) {
    const r = m.reference_images;
    const seconds = r.seconds ? ` With references it renders ${r.seconds.join(' or ')} s.` : '';
    const price = m.pricing.reference_image_credits ? ` Each costs ${m.pricing.reference_image_credits} credits.` : '';
    $('references-hint').textContent = `Up to ${room} pictures of a person, character or product to keep in the video.${seconds}${price}`;
  }
  const both = m?.last_frame && room > 0 && state.lastFrame && state.references.length;
  $('extras-note').textContent = both ? 'A last frame and reference images cannot go together: remove one of them.' : '';
}

/** Type, size and 1:4–4:1, as the server judges every image; resolves to a refusal message or null. */
async function refusal(file) {
  if (!TYPES.includes(file.type)) return `${file.name} is not a PNG, JPEG or WebP image.`;
  if (file.size > MAX_BODY_BYTES) return `${file.name} is ${(file.size / 1048576).toFixed(1)} MB; the limit is 20 MB.`;
  try {
    const bitmap = await createImageBitmap(file);
    const ratio = bitmap.width / bitmap.height;
    bitmap.close();
    if (ratio < 0.25 || ratio > 4) return `${file.name} is outside the allowed 1:4 to 4:1 ratio. Crop it first.`;
  } catch {
    return `${file.name} could not be read as an image.`;
  }
  return null;
}

function say(id, text, ok) {
  $(id).textContent = text;
  $(id).className = ok ? 'ok' : 'bad';
}

async function pickLastFrame(onChange) {
  const file = $('last-frame').files[0];
  state.lastFrame = null;
  $('last-frame').removeAttribute('aria-invalid');
  $('clear-last-frame').hidden = !file;
  if (!file) { say('last-frame-info', '', true); onChange(); return; }
  const bad = await refusal(file);
  if (bad) {
    $('last-frame').setAttribute('aria-invalid', 'true');
    say('last-frame-info', bad, false);
  } else {
    state.lastFrame = { file };
    say('last-frame-info', `${file.name}: the video ends on this image.`, true);
  }
  onChange();
}

async function pickReferences(onChange) {
  const files = [...$('references').files];
  state.references = [];
  $('references').removeAttribute('aria-invalid');
  $('clear-references').hidden = !files.length;
  const room = referenceRoom(state.models.find((m) => m.id === $('model').value));
  const refused = (await Promise.all(files.map(refusal))).filter(Boolean);
  if (refused.length || (room && files.length > room)) {
    $('references').setAttribute('aria-invalid', 'true');
    say('references-info', refused[0] ?? `${files.length} pictures chosen; this model takes at most ${room}.`, false);
  } else {
    state.references = files.map((file) => ({ file }));
    say('references-info', files.length ? `${files.length} reference picture${files.length === 1 ? '' : 's'}: ${files.map((f) => f.name).join(', ')}.` : '', true);
  }
  onChange();
}

/** `onChange` runs after every pick or removal (the pickers, price and a stale error follow). */
export function wireExtras(onChange) {
  $('last-frame').addEventListener('change', () => void pickLastFrame(onChange));
  $('references').addEventListener('change', () => void pickReferences(onChange));
  $('clear-last-frame').addEventListener('click', () => { $('last-frame').value = ''; void pickLastFrame(onChange); $('last-frame').focus(); });
  $('clear-references').addEventListener('click', () => { $('references').value = ''; void pickReferences(onChange); $('references').focus(); });
}

/** The server reads at most this many file parts (src/http/app.ts); more images go as data: URIs in JSON. */
const MULTIPART_FILES = 4;

const dataUri = (file) => new Promise((resolve, reject) => {
  const r = new FileReader();
  r.onload = () => resolve(r.result);
  r.onerror = () => reject(r.error);
  r.readAsDataURL(file);
});

/** The submit as multipart (files as they are), or as JSON when there are more images than multipart parts allowed. */
export async function requestBody(m, prompt) {
  const fields = {
    model: m.id, prompt, aspect_ratio: $('aspect').value, size: $('size').value, seconds: $('seconds').value,
    ...(m.audio ? { generate_audio: $('audio').checked } : {}), off_peak: $('off-peak').checked, is_rec: $('is-rec').checked,
  };
  const last = lastFrameFor(m);
  const files = [['images', state.image.file], ...(last ? [['images', last.file]] : []), ...referencesFor(m).map((r) => ['reference_images', r.file])];
  if (files.length > MULTIPART_FILES) {
    const json = { ...fields, seconds: Number(fields.seconds), images: [], reference_images: [] };
    for (const [name, file] of files) json[name].push(await dataUri(file));
    return { body: JSON.stringify(json), headers: { 'content-type': 'application/json' } };
  }
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, String(v));
  for (const [name, file] of files) form.append(name, file, file.name);
  return { body: form, headers: {} };
}
