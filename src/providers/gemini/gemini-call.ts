import { callJson, googleErrorMessage, type CallResult } from '../upstream/http-call.ts';

/** Names the upstream in every message users and operators see. */
export const LABEL = 'Gemini API';

/** One JSON call to the Gemini API with the channel's key; never throws unless `signal` aborted. */
export type GeminiCall = (method: 'GET' | 'POST', path: string, signal: AbortSignal, json?: unknown, maxBytes?: number) => Promise<CallResult>;

export function geminiCall(o: { apiKey: string; baseUrl: string; requestTimeoutMs: number }): GeminiCall {
  const base = o.baseUrl.replace(/\/+$/, '');
  return (method, path, signal, json, maxBytes) => callJson({
    method, url: `${base}${path}`, headers: { 'x-goog-api-key': o.apiKey }, signal, label: LABEL,
    timeoutMs: o.requestTimeoutMs, secrets: [o.apiKey], errorMessage: googleErrorMessage,
    ...(json === undefined ? {} : { json }), ...(maxBytes ? { maxBytes } : {}),
  });
}
