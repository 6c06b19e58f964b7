import type { Socket } from 'node:net';
import WebSocket from 'ws';

/** One graphql-transport-ws message as it came off the wire, with its text. */
export interface RawFrame {
  text: string;
  id: string | undefined;
  type: string;
  payload: unknown;
}

/**
 * A graphql-transport-ws client written by hand over `ws`: it keeps every frame's exact text (to
 * compare bytes between servers) and can stop reading its socket (a slow consumer).
 */
export interface RawWsClient {
  ws: WebSocket;
  frames: RawFrame[];
  /** Resolves with the close code the client saw. */
  closed: Promise<number>;
  subscribe(id: string, query: string, variables?: Record<string, unknown>): void;
  complete(id: string): void;
  /** Resolves once `condition` holds, checked after each frame. */
  until(condition: () => boolean, timeoutMs: number, what: string): Promise<void>;
  pause(): void;
  resume(): void;
  close(): void;
}

export function rawWsClient(url: string): Promise<RawWsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    const frames: RawFrame[] = [];
    const waiters = new Set<() => void>();
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    const socket = () => (ws as unknown as { _socket: Socket })._socket;
    const client: RawWsClient = {
      ws,
      frames,
      closed,
      subscribe(id, query, variables) {
        ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
      },
      complete(id) {
        ws.send(JSON.stringify({ id, type: 'complete' }));
      },
      until(condition, timeoutMs, what) {
        if (condition()) return Promise.resolve();
        return new Promise((done, fail) => {
          const timer = setTimeout(() => {
            waiters.delete(check);
            fail(new Error(`timed out waiting for ${what} (${frames.length} frames)`));
          }, timeoutMs);
          const check = () => {
            if (!condition()) return;
            clearTimeout(timer);
            waiters.delete(check);
            done();
          };
          waiters.add(check);
        });
      },
      pause: () => socket().pause(),
      resume: () => socket().resume(),
      close: () => ws.terminate(),
    };
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
    ws.on('message', (raw) => {
      const text = raw.toString();
      const message = JSON.parse(text) as { id?: string; type: string; payload?: unknown };
      if (message.type === 'connection_ack') {
        resolve(client);
        return;
      }
      frames.push({ text, id: message.id, type: message.type, payload: message.payload });
      for (const check of [...waiters]) check();
    });
  });
}

/** The `orderBookUpdates` messages of subscription `id`, in the order received. */
export function updatesOf(frames: readonly RawFrame[], id: string) {
  return frames
    .filter((f) => f.id === id && f.type === 'next')
    .map(
      (f) =>
        (
          f.payload as {
            data: {
              orderBookUpdates: { type: string; seq: number; prevSeq: number | null; reason: string | null };
            };
          }
        ).data.orderBookUpdates,
    );
}
