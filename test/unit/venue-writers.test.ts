import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { VenueWriters } from '../../src/ingest/venue-writers.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import type { LeaseClaim } from '../../src/redis/writer-lease.ts';

/**
 * The lease state machine of one ingester, against scripted claim answers (the Redis side is
 * tested for real in test/integration/writer-lease.test.ts).
 */
function writers() {
  const answers: Array<LeaseClaim | Error> = [];
  const released: string[] = [];
  const events: string[] = [];
  const metrics = new Metrics({ defaultMetrics: false });
  const venueWriters = new VenueWriters({
    leases: {
      holder: 'me',
      async claim() {
        const next = answers.shift();
        if (!next) throw new Error('no scripted answer');
        if (next instanceof Error) throw next;
        return next;
      },
      async release(exchange) {
        released.push(exchange);
        return true;
      },
    },
    log: pino({ level: 'silent' }),
    metrics,
    onHeld: async (exchange) => {
      events.push(`held ${exchange}`);
    },
    onStandby: (exchange) => events.push(`standby ${exchange}`),
  });
  venueWriters.add('sim1');
  const held = async () =>
    (await metrics.writerLeaseHeld.get()).values.find((v) => v.labels.exchange === 'sim1')?.value;
  const fenced = async () =>
    (await metrics.fencedWrites.get()).values.find((v) => v.labels.exchange === 'sim1')?.value;
  return { venueWriters, answers, released, events, held, fenced };
}

describe('VenueWriters', () => {
  it('writes with the token it was granted, and reopens the books only when it takes a lease over', async () => {
    const { venueWriters, answers, events, held } = writers();
    answers.push({ token: 1, holder: 'me' }, { token: 1, holder: 'me' }, { token: 2, holder: 'me' });
    await venueWriters.claimAll(true);
    expect(venueWriters.token('sim1')).toBe(1);
    expect(await held()).toBe(1);
    await venueWriters.claimAll(); // renewed
    // Our own lease lapsed and was granted again: a new token, the books go on in their epochs.
    await venueWriters.claimAll();
    expect(venueWriters.token('sim1')).toBe(2);
    expect(events).toEqual(['held sim1']);
  });

  it('is a standby while another holds the lease, and takes over once it is free', async () => {
    const { venueWriters, answers, events, held } = writers();
    answers.push({ token: 0, holder: 'other' }, { token: 0, holder: 'other' }, { token: 4, holder: 'me' });
    await venueWriters.claimAll(true);
    expect(venueWriters.token('sim1')).toBe(0);
    expect(venueWriters.standbys()).toEqual([{ exchange: 'sim1', holder: 'other' }]);
    expect(venueWriters.writesAny()).toBe(false);
    expect(await held()).toBe(0);
    await venueWriters.claimAll();
    await venueWriters.claimAll();
    expect(venueWriters.token('sim1')).toBe(4);
    expect(venueWriters.standbys()).toEqual([]);
    expect(await held()).toBe(1);
    // One standby notice (not one per claim), one takeover.
    expect(events).toEqual(['standby sim1', 'held sim1']);
  });

  it('turns standby when the lease is taken or a write is fenced; a stale fence is ignored', async () => {
    const { venueWriters, answers, events, fenced } = writers();
    answers.push({ token: 1, holder: 'me' }, { token: 0, holder: 'other' }, { token: 3, holder: 'me' });
    await venueWriters.claimAll(true);
    await venueWriters.claimAll();
    expect(venueWriters.token('sim1')).toBe(0);
    expect(events).toEqual(['held sim1', 'standby sim1']);

    await venueWriters.claimAll();
    expect(venueWriters.token('sim1')).toBe(3);
    answers.push({ token: 0, holder: 'successor' });
    venueWriters.fenced('sim1', 2); // a write of an earlier token: already handled
    expect(venueWriters.token('sim1')).toBe(3);
    venueWriters.fenced('sim1', 3);
    expect(venueWriters.token('sim1')).toBe(0);
    expect(await fenced()).toBe(2);
    // It asks at once who holds the lease now.
    await expect.poll(() => venueWriters.standbys()).toEqual([{ exchange: 'sim1', holder: 'successor' }]);
    expect(events).toEqual(['held sim1', 'standby sim1', 'held sim1', 'standby sim1', 'standby sim1']);
  });

  it('keeps its state through a failed claim (Redis away) but fails a strict one; releases only what it holds', async () => {
    const { venueWriters, answers, released } = writers();
    answers.push(new Error('connection refused'));
    await expect(venueWriters.claimAll(true)).rejects.toThrow('connection refused');
    answers.push({ token: 5, holder: 'me' }, new Error('connection refused'));
    await venueWriters.claimAll(true);
    await venueWriters.claimAll();
    expect(venueWriters.token('sim1')).toBe(5);
    await venueWriters.release();
    expect(released).toEqual(['sim1']);
    expect(venueWriters.token('sim1')).toBe(0);
    await venueWriters.release();
    expect(released).toEqual(['sim1']);
  });
});
