/**
 * The ambient bed for models with audio: a deterministic (seeded) lavfi
 * source shaped by filters, chosen from words in the prompt. Real sound, not
 * silence, and never speech or music pretending to be generated.
 */
export type AudioBed = 'rain' | 'sea' | 'wind' | 'city' | 'fire' | 'ambient';

const BEDS: { bed: AudioBed; pattern: RegExp }[] = [
  { bed: 'rain', pattern: /\b(rain\w*|drizzl\w*|storm\w*|downpour|shower)\b/ },
  { bed: 'sea', pattern: /\b(sea|seas|ocean\w*|waves?|beach\w*|surf\w*|shore\w*|tide\w*)\b/ },
  { bed: 'wind', pattern: /\b(wind\w*|breez\w*|gust\w*|blizzard|desert|mountain\w*)\b/ },
  { bed: 'city', pattern: /\b(city|cities|traffic|street\w*|urban|downtown|crowd\w*|cars?)\b/ },
  { bed: 'fire', pattern: /\b(fire\w*|campfire|flames?|fireplace|burning)\b/ },
];

export function chooseAudioBed(prompt: string): AudioBed {
  const text = prompt.toLowerCase();
  let best: { bed: AudioBed; at: number } | undefined;
  for (const { bed, pattern } of BEDS) {
    const m = pattern.exec(text);
    if (m && (!best || m.index < best.at)) best = { bed, at: m.index };
  }
  return best?.bed ?? 'ambient';
}

/** A lavfi source string and a filter chain for a bed; `seed` makes the noise repeatable. */
export function audioBedGraph(bed: AudioBed, seed: number): { source: string; filters: string } {
  const noise = (color: string, amplitude: number) => `anoisesrc=color=${color}:amplitude=${amplitude}:sample_rate=48000:seed=${seed}`;
  switch (bed) {
    case 'rain': return { source: noise('pink', 0.35), filters: 'highpass=f=400,lowpass=f=9000' };
    // Slow swell: waves arriving every ~8 s.
    case 'sea': return { source: noise('brown', 0.6), filters: 'lowpass=f=1200,tremolo=f=0.12:d=0.8' };
    case 'wind': return { source: noise('pink', 0.4), filters: 'bandpass=f=500:width_type=o:w=2,tremolo=f=0.25:d=0.6' };
    case 'city': return { source: noise('brown', 0.5), filters: 'lowpass=f=2500,tremolo=f=0.5:d=0.25' };
    case 'fire': return { source: noise('white', 0.2), filters: 'lowpass=f=3000,tremolo=f=7:d=0.5' };
    case 'ambient': return { source: noise('brown', 0.12), filters: 'lowpass=f=900' };
  }
}
