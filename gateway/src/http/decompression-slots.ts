import { DecompressionBusyError } from '../errors';

/**
 * How many request bodies may be decompressing at once, over HTTP and gRPC together. Each
 * one may grow to the decompressed limit, so this times that limit bounds the memory
 * compression can multiply. A body that finds every slot taken waits its turn (FIFO) for
 * at most `waitMs` — while waiting it holds only its compressed bytes, as any identity
 * body does — and is then refused with DecompressionBusyError (503 with Retry-After,
 * gRPC UNAVAILABLE), which every client of these protocols retries.
 */
export class DecompressionSlots {
  private busy = 0;
  private readonly waiting: Array<{ grant: () => void; timer: NodeJS.Timeout }> = [];

  constructor(
    readonly max: number,
    readonly waitMs: number,
  ) {}

  get inUse(): number {
    return this.busy;
  }

  /** A slot, released once by calling the function returned; rejects when none frees in time. */
  acquire(): Promise<() => void> {
    if (this.busy < this.max) {
      this.busy++;
      return Promise.resolve(this.releaser());
    }
    if (this.waitMs <= 0) return Promise.reject(new DecompressionBusyError(this.max));
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => resolve(this.releaser()),
        timer: setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(entry), 1);
          reject(new DecompressionBusyError(this.max));
        }, this.waitMs),
      };
      this.waiting.push(entry);
    });
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) {
        clearTimeout(next.timer);
        next.grant(); // the slot passes on; busy stays the same
      } else {
        this.busy--;
      }
    };
  }
}
