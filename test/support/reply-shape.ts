import type { FastifyInstance } from 'fastify';

/**
 * Fastify serializes a reply through its route's response schema, and a property the schema does
 * not name silently disappears (a null where it says string becomes ""). This watches every JSON
 * reply of a test server: what the handler returned, seen as JSON, against what was sent; each
 * property lost or changed from null on the way is recorded as `METHOD url: path`.
 */
export function watchReplyShapes(app: FastifyInstance, problems: string[]): void {
  app.addHook('preSerialization', async (req, _reply, payload) => {
    if (payload && typeof payload === 'object' && !Buffer.isBuffer(payload)) {
      (req as unknown as { returned?: unknown }).returned = JSON.parse(JSON.stringify(payload));
    }
    return payload;
  });
  app.addHook('onSend', async (req, _reply, payload) => {
    const returned = (req as unknown as { returned?: unknown }).returned;
    if (returned === undefined || typeof payload !== 'string') return payload;
    for (const path of lost(returned, JSON.parse(payload), '')) {
      problems.push(`${req.method} ${req.routeOptions.url}: ${path || '(root)'}`);
    }
    return payload;
  });
}

function lost(before: unknown, after: unknown, path: string): string[] {
  if (before === null) return after === null ? [] : [path];
  if (typeof before !== 'object') return [];
  if (after === null || typeof after !== 'object') return [path];
  const keys = Array.isArray(before) ? before.map((_, i) => String(i)) : Object.keys(before);
  const a = after as Record<string, unknown>;
  const b = before as Record<string, unknown>;
  return keys.flatMap((key) => (key in a ? lost(b[key], a[key], `${path}.${key}`) : [`${path}.${key}`]));
}
