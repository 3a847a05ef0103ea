/**
 * The Vertex AI host for a location (UPSTREAM.md §3, the rule the SDKs and
 * LiteLLM use): a region has its own host, `global` the bare one, and the
 * multi-regions `us` / `eu` their regional-endpoint (`rep`) hosts. The path
 * still names the location: `/v1/projects/P/locations/L/…`.
 */
export function vertexBaseUrl(location: string): string {
  if (location === 'global') return 'https://aiplatform.googleapis.com';
  if (location === 'us' || location === 'eu') return `https://aiplatform.${location}.rep.googleapis.com`;
  return `https://${location}-aiplatform.googleapis.com`;
}
