import type { PromptVocabulary } from '../../domain/ports.ts';
import { chooseAudioBed } from './audio-bed.ts';
import { planCamera } from './camera.ts';

/** How the local renderer reads a prompt (its camera plan and sound beds), for the is_rec optimiser. */
export const LOCAL_PROMPT_VOCABULARY: PromptVocabulary = {
  read(prompt) {
    const plan = planCamera(prompt);
    return {
      camera: plan.source === 'default' ? 'unnamed' : plan.moves.includes('static') ? 'still' : 'moving',
      speedNamed: plan.speed !== 'normal',
      lookNamed: plan.looks.length > 0,
      soundNamed: chooseAudioBed(prompt) !== 'ambient',
    };
  },
};
