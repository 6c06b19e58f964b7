import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, prettyLogs } from '../../src/log.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  };
}

describe('logs', () => {
  it('are pretty only in development on a terminal, unless LOG_PRETTY says otherwise', () => {
    expect(prettyLogs(undefined, 'development', true)).toBe(true);
    expect(prettyLogs(undefined, 'development', false)).toBe(false);
    expect(prettyLogs(undefined, 'production', true)).toBe(false);
    expect(prettyLogs(undefined, 'test', true)).toBe(false);
    expect(prettyLogs(true, 'production', false)).toBe(true);
    expect(prettyLogs(false, 'development', true)).toBe(false);
  });

  it('are JSON lines with the level, name and fields', () => {
    const out = capture();
    const log = createLogger('info', { destination: out.destination });
    log.debug('hidden');
    log.info({ requestId: 'r-1' }, 'hello');
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).toMatchObject({ level: 30, name: 'bookgraph', requestId: 'r-1', msg: 'hello' });
    expect(out.lines[0]).not.toHaveProperty('traceId');
  });

  describe('inside a span', () => {
    const manager = new AsyncLocalStorageContextManager();
    beforeAll(() => {
      context.setGlobalContextManager(manager.enable());
    });
    afterAll(() => {
      context.disable();
    });

    it('carry its trace and span ids', () => {
      const out = capture();
      const log = createLogger('info', { destination: out.destination });
      const spanContext = {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: 1,
      };
      context.with(trace.setSpanContext(ROOT_CONTEXT, spanContext), () => log.info('inside'));
      log.info('outside');
      expect(out.lines[0]).toMatchObject({ traceId: spanContext.traceId, spanId: spanContext.spanId });
      expect(out.lines[1]).not.toHaveProperty('traceId');
    });
  });
});
