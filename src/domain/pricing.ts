import type { ModelSpec, Pricing, Resolution } from './catalog.ts';

export interface PriceInput {
  /** An extension's: the seconds it adds (API.md §3). */
  seconds: number;
  resolution: Resolution;
  audio: boolean;
  isRec: boolean;
  offPeak: boolean;
  /** How many `reference_images` (a start image is not one: it is priced with the seconds). */
  references?: number;
}

export interface Price {
  credits: number;
  breakdown: { video: number; audio: number; references: number; is_rec: number; off_peak_discount: number };
}

/** The price of a task in whole credits (API.md §7), from the catalog's data. */
export function priceTask(model: ModelSpec, pricing: Pricing, p: PriceInput): Price {
  const video = p.seconds * (model.price_per_second[p.resolution] ?? 0);
  const audio = p.audio ? p.seconds * model.audio_price_per_second : 0;
  const references = (p.references ?? 0) * (model.reference_images?.price_per_image ?? 0);
  const isRec = p.isRec ? pricing.is_rec_surcharge : 0;
  const full = video + audio + references + isRec;
  const credits = Math.ceil(p.offPeak ? full * (1 - pricing.off_peak_discount) : full);
  return { credits, breakdown: { video, audio, references, is_rec: isRec, off_peak_discount: full - credits } };
}
