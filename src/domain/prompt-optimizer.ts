import { planCamera } from '../providers/local/camera.ts';
import { chooseAudioBed } from '../providers/local/audio-bed.ts';

/**
 * `is_rec` for the local renderer: a deterministic rewrite of the prompt into
 * a richer one written in the words the renderer understands (a camera move,
 * a speed, a look, an ambience), keeping the user's own text first. Upstreams
 * with their own optimiser get the flag instead (Vidu is_rec, Veo enhancePrompt).
 */
export function optimizePrompt(prompt: string): string {
  const base = prompt.trim().replace(/[.\s]+$/, '');
  const plan = planCamera(prompt);
  const parts = [base];
  if (plan.source === 'default') parts.push('Camera: a slow, steady push in toward the subject');
  else if (plan.speed === 'normal' && !plan.moves.includes('static')) parts.push('Camera movement: smooth and steady');
  if (plan.looks.length === 0) parts.push('Look: warm, soft natural light with gentle contrast');
  if (chooseAudioBed(prompt) === 'ambient') parts.push('Sound: a quiet ambient room tone');
  parts.push('Cinematic, coherent motion, no sudden cuts');
  return `${parts.join('. ')}.`;
}
