import type { PromptVocabulary } from './ports.ts';

/**
 * `is_rec` for the local renderer: a deterministic rewrite of the prompt into
 * a richer one written in the words the renderer understands (a camera move,
 * a speed, a look, an ambience), keeping the user's own text first. Upstreams
 * with their own optimiser get the flag instead (Vidu is_rec, Veo enhancePrompt).
 * The renderer's vocabulary comes in as a port, handed over at composition.
 */
export function createPromptOptimizer(vocabulary: PromptVocabulary): (prompt: string) => string {
  return (prompt) => {
    const base = prompt.trim().replace(/[.\s]+$/, '');
    const reading = vocabulary.read(prompt);
    const parts = [base];
    if (reading.camera === 'unnamed') parts.push('Camera: a slow, steady push in toward the subject');
    else if (reading.camera === 'moving' && !reading.speedNamed) parts.push('Camera movement: smooth and steady');
    if (!reading.lookNamed) parts.push('Look: warm, soft natural light with gentle contrast');
    if (!reading.soundNamed) parts.push('Sound: a quiet ambient room tone');
    parts.push('Cinematic, coherent motion, no sudden cuts');
    return `${parts.join('. ')}.`;
  };
}
