/**
 * A self-contained HTML rendering of the OpenAPI document: no CDN script, so
 * /docs works offline, which is the point of a self-hosted gateway.
 */
const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

interface Op { summary?: string; parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: unknown }[]; requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, { description: string; content?: Record<string, { schema?: unknown }> }>; security?: Record<string, unknown>[] }
interface Spec {
  info: { title: string; version: string; description?: string };
  components?: { securitySchemes?: Record<string, { description?: string }> };
  paths: Record<string, Record<string, unknown>>;
}

/** Short names for the security schemes of openapi.ts: which credential a route takes, at a glance. */
const SCHEME_LABELS: Record<string, string> = { apiKey: 'API key', adminToken: 'admin token', googApiKey: 'x-goog-api-key', viduSignature: 'Vidu signature' };
const authLabel = (security: Record<string, unknown>[] | undefined) => {
  const names = (security ?? []).flatMap((s) => Object.keys(s)).map((n) => SCHEME_LABELS[n] ?? n);
  return names.length ? `<span class="auth">${esc(names.join(' or '))}</span>` : '<span class="auth open">no auth</span>';
};

export function renderDocsPage(spec: Spec): string {
  const sections = Object.entries(spec.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, raw]) => {
    const op = raw as Op;
    const params = (op.parameters ?? []).map((p) => `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required ? 'yes' : 'no'}</td><td>${esc(p.description)}</td></tr>`).join('');
    const body = op.requestBody ? Object.entries(op.requestBody.content).map(([ct, c]) => `<details><summary>Body: ${esc(ct)}</summary><pre>${esc(JSON.stringify(c.schema, null, 2))}</pre></details>`).join('') : '';
    const responses = Object.entries(op.responses).map(([status, r]) => {
      const schema = r.content && Object.values(r.content)[0]?.schema;
      return `<li><strong>${esc(status)}</strong> ${esc(r.description)}${schema ? `<details><summary>schema</summary><pre>${esc(JSON.stringify(schema, null, 2))}</pre></details>` : ''}</li>`;
    }).join('');
    return `<section><h2><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code> ${authLabel(op.security)}</h2><p>${esc(op.summary)}</p>${params ? `<table><tr><th>name</th><th>in</th><th>required</th><th>description</th></tr>${params}</table>` : ''}${body}<ul>${responses}</ul></section>`;
  })).join('\n');
  const schemes = Object.entries(spec.components?.securitySchemes ?? {})
    .map(([name, sc]) => `<li><strong>${esc(SCHEME_LABELS[name] ?? name)}</strong>: ${esc(sc.description)}</li>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(spec.info.title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}section{border-top:1px solid #ddd;padding:.5rem 0}h2{font-size:1.05rem}.m{display:inline-block;min-width:4rem;font-weight:700}.get{color:#0a6}.post{color:#06c}.delete{color:#c33}.auth{font-size:.8rem;background:#eee;border-radius:4px;padding:0 .4rem}.auth.open{background:#eef6ee}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:12px}</style></head>
<body><h1>${esc(spec.info.title)} <small>${esc(spec.info.version)}</small></h1><p>${esc(spec.info.description)}</p><p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p><h2>Authentication</h2><ul>${schemes}</ul>${sections}</body></html>`;
}
