// The start image: checked in the browser (type, size, 1:4 to 4:1) before anything is uploaded,
// and previewed in the frame the video will have.
import { applyModel } from './pickers.js';
import { $, state } from './ui.js';

const MAX_BODY_BYTES = 20 * 1024 * 1024;
const TYPES = ['image/png', 'image/jpeg', 'image/webp'];

function ratioText(w, h) {
  return w >= h ? `${(w / h).toFixed(2)}:1` : `1:${(h / w).toFixed(2)}`;
}

/** Every new image resets a hand-picked aspect: the aspect follows the image, whichever came first, key or image. */
export function pickImage(file, onValid) {
  const info = $('image-info');
  const preview = $('preview');
  const frame = $('frame');
  state.image = null;
  state.aspectManual = false;
  $('image').removeAttribute('aria-invalid');
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.onload = preview.onerror = null;
  preview.removeAttribute('src');
  if (!file) { frame.hidden = true; info.textContent = ''; applyModel(); return; }
  const bad = (msg) => {
    info.textContent = msg;
    info.className = 'bad';
    $('image').setAttribute('aria-invalid', 'true');
    applyModel();
  };
  if (!TYPES.includes(file.type)) { frame.hidden = true; return bad(`${file.name} is not a PNG, JPEG or WebP image.`); }
  if (file.size > MAX_BODY_BYTES) { frame.hidden = true; return bad(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; the limit is 20 MB.`); }
  preview.onload = () => {
    const w = preview.naturalWidth, h = preview.naturalHeight;
    const ratio = w / h;
    frame.hidden = false;
    if (ratio < 0.25 || ratio > 4) {
      frame.style.setProperty('--ar', String(ratio));
      return bad(`${w}×${h} px, ratio ${ratioText(w, h)}: outside the allowed 1:4 to 4:1. Crop it first.`);
    }
    state.image = { file, width: w, height: h };
    info.textContent = `${w}×${h} px, ratio ${ratioText(w, h)} — within 1:4 to 4:1.`;
    info.className = 'ok';
    applyModel();
    onValid?.();
  };
  preview.onerror = () => { frame.hidden = true; bad(`${file.name} could not be read as an image.`); };
  preview.src = URL.createObjectURL(file);
}
