import type { ModelSpec, Pricing, Resolution } from './catalog.ts';

export interface PriceInput {
  seconds: number;
  resolution: Resolution;
  audio: boolean;
  isRec: boolean;
  offPeak: boolean;
}

export interface Price {
  credits: number;
  breakdown: { video: number; audio: number; is_rec: number; off_peak_discount: number };
}

/** The price of a task in whole credits (API.md §7), from the catalog's data. */
export function priceTask(model: ModelSpec, pricing: Pricing, p: PriceInput): Price {
  const video = p.seconds * (model.price_per_second[p.resolution] ?? 0);
  const audio = p.audio ? p.seconds * model.audio_price_per_second : 0;
  const isRec = p.isRec ? pricing.is_rec_surcharge : 0;
  const full = video + audio + isRec;
  const credits = Math.ceil(p.offPeak ? full * (1 - pricing.off_peak_discount) : full);
  return { credits, breakdown: { video, audio, is_rec: isRec, off_peak_discount: full - credits } };
}
