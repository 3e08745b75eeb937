import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { demoIdentities } from './services.ts';

const Identities = Type.Object({
  citizens: Type.Array(Type.Object({ idNumber: Type.String(), name: Type.String(), note: Type.String() })),
  enterprises: Type.Array(Type.Object({ username: Type.String(), name: Type.String(), note: Type.String() })),
});

/** The demo city's sign-in identities for the citizen site; empty lists where no demo was seeded. */
export const demoRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/citizen/demo-identities',
    {
      config: { access: 'public' },
      schema: {
        tags: ['citizen'],
        summary: '示范身份 / The demo city’s citizens and enterprise',
        description:
          'Generated people of the demo city (not real persons) to try the citizen site with; their password is the demo password.',
        response: { 200: Identities },
      },
    },
    (req) => demoIdentities(req.ctx),
  );
};
