import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../../log.ts';
import {
  answer,
  type ClusterMessage,
  isClusterMessage,
  type Question,
  Questions,
  type Send,
} from './messages.ts';
import { WORKER_MARK } from './worker.ts';

/** The first restart of a worker that crashed waits this long; each quick crash after doubles it. */
export const FIRST_RESTART_DELAY_MS = 250;
/** The longest wait before a restart (a worker that cannot start is retried this often). */
export const MAX_RESTART_DELAY_MS = 30_000;
/** A worker that lived this long had a healthy run: its next crash restarts it at once again. */
export const STABLE_RUN_MS = 30_000;

/** How long to wait before forking again a worker slot that crashed `quickCrashes` times in a row. */
export function restartDelayMs(quickCrashes: number): number {
  return Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** Math.max(0, quickCrashes - 1));
}

export interface WorkerPoolOptions {
  /** How many workers to keep running. */
  count: number;
  log: Logger;
  /** Answers what a worker asks the primary (`cluster-metrics`). */
  onQuestion(what: Question): Promise<unknown>;
  /** A worker exited (any reason), after it left `serving()`. */
  onExit(worker: Worker): void;
  /** A worker that exited unexpectedly is forked again. */
  onRestart(): void;
}

/** One of the `count` places a worker runs in; it keeps its crash history across restarts. */
interface Slot {
  index: number;
  quickCrashes: number;
  forkedAt: number;
}

/**
 * The workers of `serve --workers N` (node:cluster, round-robin over the shared listening port),
 * supervised by the primary: a worker that exits unexpectedly is forked again after a backoff
 * that grows while it keeps crashing soon after starting; `stop()` drains them all.
 */
export class WorkerPool {
  private readonly serving_ = new Map<number, Worker>();
  private readonly slots = new Map<number, Slot>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readonly questions = new Questions();
  private startup: { resolve(port: number): void; reject(error: Error): void } | undefined;
  private stopping = false;

  constructor(private readonly options: WorkerPoolOptions) {}

  /** Forks the workers; resolves with their port once every one serves, rejects if one exits first. */
  start(): Promise<number> {
    // Round-robin in the primary (node's default except on Windows), set before the first fork.
    cluster.schedulingPolicy = cluster.SCHED_RR;
    cluster.on('message', (worker, message: unknown) => this.onMessage(worker, message));
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
    return new Promise((resolve, reject) => {
      this.startup = { resolve, reject };
      for (let index = 1; index <= this.options.count; index++) {
        this.fork({ index, quickCrashes: 0, forkedAt: 0 });
      }
    });
  }

  /** The workers that said they serve and have not exited since. */
  serving(): Worker[] {
    return [...this.serving_.values()];
  }

  /** Asks a worker; fails at `timeoutMs`, or at once if the worker exits first. */
  ask(worker: Worker, what: Question, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const exited = () => reject(new Error(`worker ${worker.id} exited`));
      worker.once('exit', exited);
      this.questions
        .ask(sendTo(worker), what, timeoutMs)
        .then(resolve, reject)
        .finally(() => worker.off('exit', exited));
    });
  }

  /**
   * Drains every worker (SIGTERM: each runs its own graceful stop) and resolves once all have
   * exited: true when each exited 0 (or by that SIGTERM, before it could handle it). Workers still
   * running after `boundMs` are killed (SIGKILL) and the result is false.
   */
  async stop(boundMs: number): Promise<boolean> {
    this.stopping = true;
    for (const timer of this.restartTimers) clearTimeout(timer);
    this.restartTimers.clear();
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exits = workers.map(
      (worker) =>
        new Promise<boolean>((resolve) => {
          if (worker.process.exitCode !== null || worker.process.signalCode !== null) {
            resolve(worker.process.exitCode === 0);
            return;
          }
          worker.once('exit', (code: number | null, signal: string | null) =>
            resolve(code === 0 || signal === 'SIGTERM'),
          );
          // Not worker.kill(): it disconnects first, and a disconnected worker exits at once.
          worker.process.kill('SIGTERM');
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'bound'>((resolve) => {
      timer = setTimeout(() => resolve('bound'), boundMs);
    });
    const outcome = await Promise.race([Promise.all(exits), bound]);
    clearTimeout(timer);
    if (outcome !== 'bound') return outcome.every(Boolean);
    this.options.log.error({ boundMs }, 'workers still running after the drain bound: killed');
    for (const worker of workers) if (worker.process.exitCode === null) worker.process.kill('SIGKILL');
    return false;
  }

  private fork(slot: Slot): void {
    slot.forkedAt = Date.now();
    const worker = cluster.fork({ [WORKER_MARK]: '1' });
    this.slots.set(worker.id, slot);
  }

  private onMessage(worker: Worker, message: unknown): void {
    if (!isClusterMessage(message)) return;
    if (message.bookgraph === 'answer') this.questions.settle(message);
    else if (message.bookgraph === 'ask')
      answer(sendTo(worker), message.id, () => this.options.onQuestion(message.what));
    else if (message.bookgraph === 'started') this.onStarted(worker, message.port);
  }

  private onStarted(worker: Worker, port: number): void {
    this.serving_.set(worker.id, worker);
    if (this.startup) {
      if (this.serving_.size < this.options.count) return;
      this.startup.resolve(port);
      this.startup = undefined;
    } else {
      this.options.log.info(
        { worker: worker.id, workerPid: worker.process.pid, port },
        'worker serving again',
      );
    }
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    this.serving_.delete(worker.id);
    const slot = this.slots.get(worker.id);
    this.slots.delete(worker.id);
    this.options.onExit(worker);
    if (this.stopping || !slot) return;
    if (this.startup) {
      // A worker that cannot start now would not start on a retry either (its own lines above say why).
      this.startup.reject(new Error(`worker ${worker.id} exited (${code ?? signal}) before it was serving`));
      this.startup = undefined;
      return;
    }
    slot.quickCrashes = Date.now() - slot.forkedAt < STABLE_RUN_MS ? slot.quickCrashes + 1 : 1;
    const delayMs = restartDelayMs(slot.quickCrashes);
    this.options.log.error(
      { worker: worker.id, workerPid: worker.process.pid, code, signal, restartInMs: delayMs },
      'worker exited unexpectedly: restarting it',
    );
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      this.options.onRestart();
      this.fork(slot);
    }, delayMs);
    this.restartTimers.add(timer);
  }
}

function sendTo(worker: Worker): Send {
  return (message: ClusterMessage) => {
    if (!worker.isConnected()) return false;
    worker.send(message);
    return true;
  };
}
