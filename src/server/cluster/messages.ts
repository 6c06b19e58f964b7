/**
 * What the `serve --workers N` primary and its workers say to each other over node:cluster's IPC
 * channel (JSON). Every message carries `bookgraph`, so messages of other libraries on the same
 * channel (node's own, prom-client's) are left alone.
 *
 * - `started`: a worker is serving on `port` (sent once its runtime is up).
 * - `ask` / `answer`: a question and its answer, paired by `id`. The primary asks a worker for its
 *   `ready` reasons (none = ready) and its `metrics` (prom-client's JSON of its registry); a worker
 *   asks the primary for `cluster-metrics` (the summed Prometheus text its API port serves).
 */
export type Question = 'ready' | 'metrics' | 'cluster-metrics';

export type ClusterMessage =
  | { bookgraph: 'started'; port: number }
  | { bookgraph: 'ask'; id: number; what: Question }
  | { bookgraph: 'answer'; id: number; value?: unknown; error?: string };

export function isClusterMessage(message: unknown): message is ClusterMessage {
  return typeof message === 'object' && message !== null && 'bookgraph' in message;
}

/** Sends on the channel if it is still open; false when it is closed (the other side exited). */
export type Send = (message: ClusterMessage) => boolean;

/** Questions in flight on one side of the channel, each answered or failed within its bound. */
export class Questions {
  private next = 0;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();

  ask(send: Send, what: Question, timeoutMs: number): Promise<unknown> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to "${what}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      if (!send({ bookgraph: 'ask', id, what })) {
        // The other side has exited: fail now, not at the bound.
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new Error(`"${what}" not asked: the channel is closed`));
      }
    });
  }

  /** Settles the question an `answer` is for (a late answer, after its bound, is dropped). */
  settle(message: Extract<ClusterMessage, { bookgraph: 'answer' }>): void {
    const question = this.pending.get(message.id);
    if (!question) return;
    this.pending.delete(message.id);
    clearTimeout(question.timer);
    if (message.error !== undefined) question.reject(new Error(message.error));
    else question.resolve(message.value);
  }
}

/** Answers question `id` with what `produce` gives, or with its error's message. */
export function answer(send: Send, id: number, produce: () => Promise<unknown>): void {
  produce().then(
    (value) => send({ bookgraph: 'answer', id, value }),
    (error: unknown) =>
      send({ bookgraph: 'answer', id, error: error instanceof Error ? error.message : String(error) }),
  );
}
