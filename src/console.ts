import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { landingPage } from './landing.ts';

/** Where `npm run build` puts the web console (web/vite.config.ts). */
export const CONSOLE_DIR = fileURLToPath(new URL('../dist/web', import.meta.url));

/** The citizen site (web/citizen/index.html): its own entry of the same build, at /citizen/. */
export const CITIZEN_BASE = '/citizen/';
const CITIZEN_INDEX = 'citizen/index.html';

/** Paths the console never answers, even for a browser: the API and the platform's own pages. */
const SERVER_PATHS = /^\/(?:v1|docs|openapi\.json|healthz|readyz|dcat|api\/3)(?:[/?.]|$)/;

const hidden = { hide: true };
const access = 'public' as const;

/**
 * Serves the web console at `/`: its files from dist/web, and index.html for any other GET a
 * browser makes outside the server's own paths (client-side routes such as /catalog/res_… are
 * deep-linkable). The citizen site is the build's second entry: citizen/index.html for /citizen/
 * and every client route under it (/citizen redirects there). Without a build it serves the
 * landing page, which says how to build. Hashed assets are cached for a year; the index pages are
 * revalidated on every load so a rebuild shows at once.
 */
export function consolePlugin(options: { version: string; dir?: string }): FastifyPluginAsync {
  return async (app) => {
    const root = options.dir ?? CONSOLE_DIR;
    const built = existsSync(path.join(root, 'index.html'));
    if (!built) {
      app.get('/', { config: { access }, schema: hidden }, async (_req, reply) =>
        reply.type('text/html; charset=utf-8').send(landingPage(options.version)),
      );
      return;
    }

    await app.register(fastifyStatic, { root, serve: false, decorateReply: true });
    const sendIndex = (reply: FastifyReply, index = 'index.html') =>
      reply.header('cache-control', 'no-cache').sendFile(index, root, { cacheControl: false });
    const citizenBuilt = existsSync(path.join(root, CITIZEN_INDEX));

    app.get('/', { config: { access }, schema: hidden }, async (_req, reply) => sendIndex(reply));
    // The citizen site lives under /citizen/: its relative links and routes need the slash.
    app.get('/citizen', { config: { access }, schema: hidden }, async (req, reply) => {
      const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
      return reply.redirect(`${CITIZEN_BASE}${query}`, 301);
    });
    app.get(CITIZEN_BASE, { config: { access }, schema: hidden }, async (_req, reply) =>
      citizenBuilt ? sendIndex(reply, CITIZEN_INDEX) : reply.callNotFound(),
    );

    app.get('/*', { config: { access }, schema: hidden }, async (req: FastifyRequest, reply) => {
      const url = req.url.split('?')[0] ?? '/';
      if (SERVER_PATHS.test(url)) return reply.callNotFound();
      // Fastify has decoded the parameter already.
      const relative = (req.params as { '*': string })['*'] ?? '';
      const file = path.resolve(root, relative);
      if (file.startsWith(root + path.sep) && isFile(file)) {
        const immutable = relative.startsWith('assets/');
        return reply.sendFile(path.relative(root, file), root, {
          cacheControl: true,
          maxAge: immutable ? '365d' : 0,
          immutable,
        });
      }
      // A client-side route: browsers ask for HTML; anything else gets the API's 404. Routes under
      // /citizen/ belong to the citizen site's own page.
      if ((req.headers.accept ?? '').includes('text/html') && !path.extname(relative)) {
        if (url.startsWith(CITIZEN_BASE))
          return citizenBuilt ? sendIndex(reply, CITIZEN_INDEX) : reply.callNotFound();
        return sendIndex(reply);
      }
      return reply.callNotFound();
    });
  };
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
