/**
 * The local renderer's camera vocabulary: English words in the prompt become
 * a plan (moves, speed, looks). Pure and deterministic, so the plan recorded
 * on a task explains exactly why its video moves as it does.
 */

export type Move =
  | 'zoom_in' | 'zoom_out' | 'dolly_in' | 'dolly_out'
  | 'pan_left' | 'pan_right' | 'tilt_up' | 'tilt_down'
  | 'orbit_left' | 'orbit_right' | 'handheld' | 'static';
export type Look = 'warm' | 'cold' | 'black_and_white' | 'fade_in' | 'fade_out';
export type Speed = 'slow' | 'normal' | 'fast';

export interface CameraPlan {
  moves: Move[];
  speed: Speed;
  looks: Look[];
  /** `default` when the prompt named no move and the renderer chose one. */
  source: 'prompt' | 'default';
  /** Moves the prompt asked for that the negative prompt ruled out. */
  avoided: Move[];
}

interface Rule<T> { value: T; pattern: RegExp; family: string }

// Order matters within a family: the first match wins (e.g. "dolly out" before "dolly").
const MOVE_RULES: Rule<Move>[] = [
  { value: 'static', family: 'static', pattern: /\b(static|locked[- ]off|tripod|still camera|no camera (movement|motion))\b/ },
  { value: 'dolly_out', family: 'zoom', pattern: /\bdolly(ing)? (out|back(ward)?s?)\b/ },
  { value: 'dolly_in', family: 'zoom', pattern: /\bdolly(ing)?( in|( for)?wards?| forward)?\b/ },
  { value: 'zoom_out', family: 'zoom', pattern: /\b(zoom(s|ing)? out|pull(s|ing)? (back|out)|widen(s|ing)?)\b/ },
  { value: 'zoom_in', family: 'zoom', pattern: /\b(zoom(s|ing)?( in)?|push(es|ing)? in|close[- ]?up|closer)\b/ },
  { value: 'pan_left', family: 'pan', pattern: /\b(pan(s|ning)?|truck(s|ing)?|track(s|ing)?) (to (the )?)?left\b/ },
  { value: 'pan_right', family: 'pan', pattern: /\b(pan(s|ning)?|truck(s|ing)?|track(s|ing)?) (to (the )?)?right\b/ },
  { value: 'tilt_up', family: 'tilt', pattern: /\b(tilt(s|ing)?|crane(s|ing)?|pedestal(ling)?) up(wards?)?\b/ },
  { value: 'tilt_down', family: 'tilt', pattern: /\b(tilt(s|ing)?|crane(s|ing)?|pedestal(ling)?) down(wards?)?\b/ },
  { value: 'orbit_left', family: 'orbit', pattern: /\b(orbit(s|ing)?|rotat(e|es|ing)|arc(s|ing)?|spin(s|ning)?) (to (the )?)?(left|counter[- ]?clockwise|anti[- ]?clockwise)\b/ },
  { value: 'orbit_right', family: 'orbit', pattern: /\b(orbit(s|ing)?|rotat(e|es|ing)|arc(s|ing)?|spin(s|ning)?)( (to (the )?)?(right|clockwise))?\b/ },
  { value: 'handheld', family: 'handheld', pattern: /\b(hand[- ]?held|shak(e|es|y|ing)|jitter(y)?|wobbl(e|y)|documentary style)\b/ },
];

// Words that name a family without a direction, used to read the negative prompt.
const FAMILY_WORDS: Record<string, RegExp> = {
  zoom: /\b(zoom\w*|dolly\w*|push\w* in|pull\w* (back|out))\b/,
  pan: /\b(pan|pans|panning|truck\w*|tracking)\b/,
  tilt: /\b(tilt\w*|crane\w*)\b/,
  orbit: /\b(orbit\w*|rotat\w*|spin\w*)\b/,
  handheld: /\b(hand[- ]?held|shak\w*|jitter\w*|wobbl\w*|camera shake)\b/,
  static: /\b(static|locked[- ]off)\b/,
};

const LOOK_RULES: Rule<Look>[] = [
  { value: 'black_and_white', family: 'colour', pattern: /\b(black[- ]and[- ]white|b&w|monochrome|gr[ae]yscale|noir)\b/ },
  { value: 'warm', family: 'colour', pattern: /\b(warm|golden( hour)?|sunset|sunrise|amber)\b/ },
  { value: 'cold', family: 'colour', pattern: /\b(cold|cool|icy|winter|blue hour|moonlit)\b/ },
  { value: 'fade_in', family: 'fade_in', pattern: /\bfad(e|es|ing)[- ]in\b|\bfrom black\b/ },
  { value: 'fade_out', family: 'fade_out', pattern: /\bfad(e|es|ing)[- ]out\b|\bto black\b/ },
];

const SLOW = /\b(slow(ly)?|gentl[ey]|subtle|subtly|gradual(ly)?|calm(ly)?)\b/;
const FAST = /\b(fast|quick(ly)?|rapid(ly)?|swift(ly)?|dramatic(ally)?|whip)\b/;

function matchAll<T>(text: string, rules: Rule<T>[]): { value: T; family: string; at: number }[] {
  const found = new Map<string, { value: T; family: string; at: number }>();
  for (const r of rules) {
    const m = r.pattern.exec(text);
    if (!m || found.has(r.family)) continue;
    found.set(r.family, { value: r.value, family: r.family, at: m.index });
  }
  return [...found.values()].sort((a, b) => a.at - b.at);
}

export function planCamera(prompt: string, negativePrompt: string | null = null): CameraPlan {
  const text = prompt.toLowerCase();
  const negative = (negativePrompt ?? '').toLowerCase();
  const banned = new Set(Object.entries(FAMILY_WORDS).filter(([, re]) => negative && re.test(negative)).map(([f]) => f));

  const asked = matchAll(text, MOVE_RULES);
  const avoided = asked.filter((m) => banned.has(m.family)).map((m) => m.value);
  let moves = asked.filter((m) => !banned.has(m.family)).map((m) => m.value);
  // "static" means no camera motion at all, whatever else the prompt mentions.
  if (moves.includes('static')) moves = ['static'];

  const speed: Speed = SLOW.test(text) ? 'slow' : FAST.test(text) ? 'fast' : 'normal';
  const looks = matchAll(text, LOOK_RULES).map((l) => l.value);
  if (moves.length === 0) {
    // A tasteful default: a slow push-in (or, if the negative prompt rules zoom out, a slow pan).
    const fallback: Move = banned.has('zoom') ? (banned.has('pan') ? 'static' : 'pan_right') : 'zoom_in';
    return { moves: [fallback], speed: asked.length ? speed : 'slow', looks, source: 'default', avoided };
  }
  return { moves, speed, looks, source: 'prompt', avoided };
}

/**
 * Where each move takes the camera window by the last frame. Every move
 * starts at the framed picture itself (zoom 1, centred, level, still), as an
 * image-to-video model starts on the image it is given, and grows from there.
 */
export interface CameraPath {
  /** Zoom reached at the end (1 = the framed picture; < 1 pulls back past its edges). */
  zoom: number;
  /** Window centre offset reached at the end, as a fraction of width (x) / height (y); positive = right / down. */
  x: number;
  y: number;
  /** Window rotation reached at the end, in radians. */
  rotate: number;
  /** Handheld drift amplitude as a fraction of the short side (0 = none); the excursion stays within twice this. */
  drift: number;
}

const SPEED_FACTOR: Record<Speed, number> = { slow: 0.6, normal: 1, fast: 1.6 };

export function cameraPath(plan: CameraPlan): CameraPath {
  const k = SPEED_FACTOR[plan.speed];
  const p: CameraPath = { zoom: 1, x: 0, y: 0, rotate: 0, drift: 0 };
  for (const m of plan.moves) {
    switch (m) {
      case 'zoom_in': p.zoom = 1 + 0.15 * k; break;
      case 'zoom_out': p.zoom = 1 / (1 + 0.15 * k); break;
      case 'dolly_in': p.zoom = 1 + 0.3 * k; break;
      case 'dolly_out': p.zoom = 1 / (1 + 0.3 * k); break;
      // Panning left turns the camera left: the window travels left, the scene slides right.
      case 'pan_left': p.x = -0.07 * k; break;
      case 'pan_right': p.x = 0.07 * k; break;
      case 'tilt_up': p.y = -0.07 * k; break;
      case 'tilt_down': p.y = 0.07 * k; break;
      // A slight orbit: the window turns a few degrees, the scene appears to rotate the other way.
      case 'orbit_left': p.rotate = -0.05 * k; break;
      case 'orbit_right': p.rotate = 0.05 * k; break;
      case 'handheld': p.drift = 0.01 * k; break;
      case 'static': break;
    }
  }
  return p;
}
