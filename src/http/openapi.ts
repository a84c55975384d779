import { createRoute, z } from '@hono/zod-openapi';
import type { App } from './routes/common.js';

/**
 * The OpenAPI 3.1 document, generated from the same route definitions (zod schemas) that validate requests,
 * so it lists exactly what the app serves; and `/docs`, a self-contained HTML rendering of it (no scripts,
 * no CDN: Herald runs offline too).
 */
const OPENAPI_VERSION = '3.1.0';

const DESCRIPTION = [
  'Herald delivers webhooks durably: publish an event, and every subscribed webhook gets a signed request (Standard Webhooks), retried on its schedule for days, each attempt logged, failures dead-lettered for redelivery.',
  '',
  'Authentication: `Authorization: Bearer <token>` on every `/v1` route. An admin token acts for every tenant (and may name one with `tenantId`); a tenant token acts only for its tenant.',
  '',
  'Endpoint policy: a webhook\'s `retrySchedule` (seconds before each retry; the first attempt is immediate), `timeoutMs`, `rateLimitPerSecond` (null = unlimited), `maxConcurrency`, `breakerThreshold` and `disableAfterDays` are each inherited when the webhook does not set them: webhook → its tenant\'s policy (`/v1/tenants/{id}/policy`) → Herald\'s default. Reads show the effective values and list the inherited fields in `inherited`; `"inherit"` in an update stops setting a field.',
  '',
  'Conventions: JSON bodies, camelCase fields, ISO 8601 times. Errors are `{"error":{"code","message","field"}}`. Lists page with `limit` and `cursor` (`nextCursor` is null on the last page). Every POST honours `Idempotency-Key` for 24 h. Request bodies are limited to 1 MiB and event payloads to the configured `maxPayloadBytes` (413).',
  '',
  'Operational events: Herald publishes its own events into each tenant\'s stream, signed and retried like any event, to the webhooks whose `eventTypes` name them (`herald.*`, `herald.webhook.*` or an exact type; a catch-all `*` does not match them). The `herald.` prefix is reserved: publishing such a type is a 400. `herald.webhook.failing` (the breaker opened) has `data` `{webhookId, url, consecutiveFailures, nextProbeAt, occurredAt}`; `herald.webhook.recovered` (it closed again) `{webhookId, url, failedForMs, occurredAt}`; `herald.webhook.disabled` `{webhookId, url, reason, occurredAt}`; `herald.delivery.dead` `{deliveryId, runId, webhookId, eventId, eventType, attempts, responseCode, error, occurredAt}`. Each occurrence has one event id (`webhook-id`), so a receiver sees it once. No loops: an operational event never goes to the webhook it is about, and the death of a delivery of a `herald.*` event publishes nothing.',
].join('\n');

const TAGS = [
  { name: 'webhooks', description: 'Endpoints that receive events: create, change, rotate secrets, enable/disable, recover.' },
  { name: 'events', description: 'Publishing events: each is fanned out to every matching webhook.' },
  { name: 'deliveries', description: 'One delivery per (event, webhook): state, attempt log, redeliver, cancel.' },
  { name: 'tenants', description: "A tenant's endpoint policy: the retry schedule, timeout, rate limit, concurrency, breaker threshold and disable-after its webhooks inherit." },
  { name: 'operations', description: 'Health, metrics and this documentation (no token needed).' },
];

const openApiRoute = createRoute({
  tags: ['operations'],
  method: 'get',
  path: '/openapi.json',
  summary: 'This API as an OpenAPI 3.1 document',
  responses: { 200: { description: 'The document.', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
});

const docsRoute = createRoute({
  tags: ['operations'],
  method: 'get',
  path: '/docs',
  summary: 'This API as a web page',
  responses: { 200: { description: 'HTML.', content: { 'text/html': { schema: z.string() } } } },
});

export type OpenApiDocument = ReturnType<App['getOpenAPI31Document']>;

/** Registers the security scheme and the two documentation routes; the document is built once, on first use. */
export function registerDocsRoutes(app: App, info: { version: string }): () => OpenApiDocument {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'A token from HERALD_API_TOKENS: `token` (admin) or `token:tenantId` (one tenant).',
  });
  let document: OpenApiDocument | undefined;
  let html: string | undefined;
  const build = () => (document ??= app.getOpenAPI31Document({ openapi: OPENAPI_VERSION, info: { title: 'Herald API', version: info.version, description: DESCRIPTION }, tags: TAGS }));
  app.openapi(openApiRoute, (c) => c.json(build() as unknown as Record<string, unknown>, 200));
  app.openapi(docsRoute, (c) => c.html((html ??= docsHtml(build())), 200));
  return build;
}

// ── the HTML page ──────────────────────────────────────────────────────────────────────────────────────

const esc = (text: unknown): string =>
  String(text ?? '').replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

/** Inline code spans (`x`) of the descriptions, escaped. */
const prose = (text: unknown): string => esc(text).replace(/`([^`]+)`/g, '<code>$1</code>');

type Json = Record<string, unknown>;

function schemaRef(schema: unknown): string {
  const s = schema as Json | undefined;
  if (!s) return '';
  if (typeof s.$ref === 'string') {
    const name = s.$ref.split('/').pop()!;
    return `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
  }
  return `<pre>${esc(JSON.stringify(s, null, 2))}</pre>`;
}

/** A parameter's schema without the words the description column already shows. */
function withoutProse(schema: unknown): unknown {
  if (schema === null || typeof schema !== 'object') return schema;
  const { description: _description, example: _example, ...rest } = schema as Json;
  return rest;
}

function operationHtml(path: string, method: string, op: Json): string {
  const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');
  const params = (op.parameters as Json[] | undefined) ?? [];
  const body = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
  const responses = (op.responses as Record<string, Json>) ?? {};
  const secured = Array.isArray(op.security) && op.security.length > 0;
  return `
<section class="op" id="${esc(id)}">
  <h3><span class="method ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code> ${secured ? '<span class="auth">bearer token</span>' : '<span class="auth">no token</span>'}</h3>
  <p><strong>${prose(op.summary)}</strong></p>
  ${op.description ? `<p>${prose(op.description)}</p>` : ''}
  ${
    params.length
      ? `<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th><th>description</th></tr>${params
          .map((p) => `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required ? 'yes' : 'no'}</td><td><code>${esc(JSON.stringify(withoutProse(p.schema)))}</code></td><td>${prose(p.description ?? (p.schema as Json | undefined)?.description)}</td></tr>`)
          .join('')}</table>`
      : ''
  }
  ${body ? Object.entries(body).map(([type, media]) => `<p>Request body (<code>${esc(type)}</code>): ${schemaRef(media.schema)}</p>`).join('') : ''}
  <table><tr><th>status</th><th>description</th><th>body</th></tr>${Object.entries(responses)
    .map(([status, r]) => {
      const content = r.content as Record<string, Json> | undefined;
      const schemas = content ? Object.entries(content).map(([type, media]) => `<code>${esc(type)}</code> ${schemaRef(media.schema)}`).join('<br>') : '';
      return `<tr><td>${esc(status)}</td><td>${prose(r.description)}</td><td>${schemas}</td></tr>`;
    })
    .join('')}</table>
</section>`;
}

/** The document as one HTML page: an index of routes, each route's parameters, bodies and responses, then the schemas. */
function docsHtml(doc: OpenApiDocument): string {
  const d = doc as unknown as Json;
  const info = d.info as Json;
  const paths = (d.paths as Record<string, Record<string, Json>>) ?? {};
  const schemas = ((d.components as Json | undefined)?.schemas as Record<string, unknown>) ?? {};
  const ops: { path: string; method: string; op: Json; tag: string }[] = [];
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) ops.push({ path, method, op, tag: ((op.tags as string[] | undefined) ?? ['other'])[0]! });
  }
  const tags = ((d.tags as { name: string; description?: string }[] | undefined) ?? []).map((t) => t.name);
  const byTag = [...new Set([...tags, ...ops.map((o) => o.tag)])].map((tag) => ({ tag, ops: ops.filter((o) => o.tag === tag) })).filter((g) => g.ops.length);
  const anchor = (o: { path: string; method: string }) => `${o.method}-${o.path}`.replace(/[^A-Za-z0-9]+/g, '-');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(info.title)} ${esc(info.version)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:0 auto;padding:1rem 2rem;color:#1d2330}
code,pre{font:13px ui-monospace,monospace;background:#f3f4f7;border-radius:4px}code{padding:0 .25rem}pre{padding:.5rem;overflow:auto}
table{border-collapse:collapse;margin:.5rem 0;width:100%}th,td{border:1px solid #dde1e8;padding:.25rem .5rem;text-align:left;vertical-align:top}
.op{border-top:1px solid #dde1e8;padding:.5rem 0}.method{display:inline-block;min-width:4rem;text-align:center;color:#fff;border-radius:4px;padding:0 .4rem;font-size:13px}
.get{background:#2f6fdb}.post{background:#1f9d55}.patch{background:#b7791f}.delete{background:#c53030}.put{background:#6b46c1}
nav li{list-style:none}nav ul{padding-left:1rem}.auth{font-size:12px;color:#5a6372;border:1px solid #dde1e8;border-radius:4px;padding:0 .3rem}
</style></head><body>
<h1>${esc(info.title)} <small>${esc(info.version)}</small></h1>
${String(info.description ?? '')
  .split('\n\n')
  .map((para) => `<p>${prose(para)}</p>`)
  .join('\n')}
<p>Machine-readable: <a href="/openapi.json"><code>/openapi.json</code></a> (OpenAPI ${esc(d.openapi)}).</p>
<nav><h2>Routes</h2>${byTag
    .map((g) => `<h4>${esc(g.tag)}</h4><ul>${g.ops.map((o) => `<li><a href="#${esc(anchor(o))}"><code>${esc(o.method.toUpperCase())} ${esc(o.path)}</code></a> ${prose(o.op.summary)}</li>`).join('')}</ul>`)
    .join('')}</nav>
${byTag.map((g) => `<h2>${esc(g.tag)}</h2>${g.ops.map((o) => operationHtml(o.path, o.method, o.op)).join('')}`).join('\n')}
<h2>Schemas</h2>
${Object.entries(schemas)
  .map(([name, schema]) => `<section id="schema-${esc(name)}"><h3>${esc(name)}</h3><pre>${esc(JSON.stringify(schema, null, 2))}</pre></section>`)
  .join('\n')}
</body></html>`;
}
