import { requireClient } from '../auth/access.ts';
import type { Principal } from '../auth/api-keys.ts';
import { builder } from './builder.ts';

const ApiClientRef = builder.objectRef<Principal>('ApiClient').implement({
  description: 'The API client a key belongs to. Clients and keys are managed with `bookgraph clients`.',
  fields: (t) => ({
    id: t.exposeString('clientId'),
    name: t.exposeString('name'),
    scopes: t.stringList({
      description: '`marketdata:read`, `trade`.',
      resolve: (p) => [...p.scopes].sort(),
    }),
    expiresAt: t.field({
      type: 'Long',
      nullable: true,
      description: 'When the key stops working, ms since the Unix epoch.',
      resolve: (p) => p.expiresAt,
    }),
  }),
});

builder.queryField('me', (t) =>
  t.field({
    type: ApiClientRef,
    description: 'The client of the API key in use. UNAUTHENTICATED without a valid key.',
    resolve: (_root, _args, ctx) => requireClient(ctx.auth),
  }),
);
