/**
 * The latest value of something that changes (a book), readable as an async iterator that skips
 * values a slow reader missed: a book is state, so only the newest one matters to a loop.
 */
export class Latest<T> {
  private value: T | undefined;
  private version = 0;
  private ended = false;
  private error: unknown;
  private readonly waiters = new Set<() => void>();

  push(value: T): void {
    this.value = value;
    this.version += 1;
    this.wake();
  }

  /** Ends every iterator: done, or throwing `error` when given. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.wake();
  }

  iterate(): AsyncIterableIterator<T> {
    let seen = 0;
    let returned = false;
    let wakeSelf: (() => void) | undefined;
    const iterator: AsyncIterableIterator<T> = {
      next: async () => {
        for (;;) {
          if (returned) return { done: true, value: undefined };
          if (this.version > seen && this.value !== undefined && !this.ended) {
            seen = this.version;
            return { done: false, value: this.value };
          }
          if (this.ended) {
            returned = true;
            if (this.error !== undefined) throw this.error;
            return { done: true, value: undefined };
          }
          await new Promise<void>((resolve) => {
            wakeSelf = resolve;
            this.waiters.add(resolve);
          });
        }
      },
      return: async () => {
        returned = true;
        if (wakeSelf) {
          this.waiters.delete(wakeSelf);
          wakeSelf();
        }
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }
}
