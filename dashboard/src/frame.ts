/**
 * Rendering batched per animation frame: views mark themselves dirty as updates arrive (any number
 * per frame) and render once, from their latest state, in the next frame. A hidden tab renders
 * nothing and keeps only the latest state, so it never builds up work.
 */
export class FrameScheduler {
  private readonly dirty = new Set<() => void>();
  private pending = false;
  /** Frames rendered and updates scheduled: read by the benchmark and the tests. */
  frames = 0;
  marks = 0;

  schedule(render: () => void): void {
    this.marks += 1;
    this.dirty.add(render);
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => this.flush());
  }

  private flush(): void {
    this.pending = false;
    this.frames += 1;
    const renders = [...this.dirty];
    this.dirty.clear();
    for (const render of renders) {
      try {
        render();
      } catch (error) {
        console.error('dashboard: a view failed to render', error);
      }
    }
  }
}
