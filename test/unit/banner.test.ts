import { describe, expect, it } from 'vitest';
import { banner } from '../../src/cli/banner.ts';

/** The development banner says only what is true of the process. */
describe('start banner', () => {
  const facts = {
    port: 4000,
    host: '0.0.0.0',
    graphiql: true,
    dashboard: true,
    redisUrl: 'redis://127.0.0.1:41234',
    privateRedis: true,
    redisReady: true,
  };

  it('with GraphiQL on and Redis up: serving, where GraphiQL is, what to paste', () => {
    const text = banner(facts);
    expect(text).toContain('serving live books at http://localhost:4000/graphql');
    expect(text).toContain('GraphiQL: open http://localhost:4000/graphql');
    expect(text).toContain('a private redis-server at redis://127.0.0.1:41234');
  });

  it('names the dashboard first when it is served, and says it is off otherwise', () => {
    const first = (text: string) => text.split('\n').find((l) => l.trim() !== '');
    expect(first(banner(facts))).toContain('Dashboard: http://localhost:4000/dashboard');
    expect(first(banner({ ...facts, dashboard: false }))).toContain('The dashboard is off');
    expect(banner({ ...facts, dashboard: false })).not.toContain('/dashboard');
  });

  it('with GraphiQL off: never says to paste into it', () => {
    const text = banner({ ...facts, graphiql: false });
    expect(text).toContain('GraphiQL is off (GRAPHIQL=1 turns it on)');
    expect(text).not.toMatch(/paste|GraphiQL: open/);
  });

  it('with Redis not answering: never says it is serving live books', () => {
    const text = banner({
      ...facts,
      redisReady: false,
      privateRedis: false,
      redisUrl: 'redis://u:secret@h:6379',
    });
    expect(text).not.toContain('serving live books');
    expect(text).toContain('does not answer yet');
    // The exact command for another terminal, without the password.
    expect(text).toContain('REDIS_URL=redis://***@h:6379 bookgraph clients create');
    expect(text).not.toContain('secret');
  });
});
