import type { Logger } from 'pino';
import type { BatchConfig } from '../config';
import { BackpressureError, StoreRejectedError } from '../errors';
import type { TableModel } from '../model/table-model';
import type { GatewayMetrics } from '../ops/metrics';

/**
 * Batches whole requests per table by size and age and hands each batch to one store
 * flush (one COPY / one ClickHouse insert). A request is never split across batches, and
 * its promise settles only after the flush that holds it committed, so an acknowledged
 * request is durable and a failed flush fails every request in it — nothing half written.
 */

export interface EncodedRequest {
  data: Buffer;
  rows: number;
}

/** Writes one batch atomically: all of it or none. */
export type FlushBatch = (table: TableModel, requests: readonly EncodedRequest[]) => Promise<void>;

interface Waiting extends EncodedRequest {
  /** The model the rows were encoded with; a batch only combines requests of one model. */
  table: TableModel;
  resolve(): void;
  reject(err: unknown): void;
}

interface TableQueue {
  waiting: Waiting[];
  waitingRows: number;
  inFlight: number;
  timer: NodeJS.Timeout | undefined;
}

export class BatchingWriter {
  private readonly queues = new Map<string, TableQueue>();
  /** Rows accepted and not yet committed (queued + in flight): the backpressure gauge. */
  private pendingRows = 0;
  private closed = false;

  constructor(
    readonly store: 'postgresql' | 'clickhouse',
    private readonly batch: BatchConfig,
    private readonly flushBatch: FlushBatch,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
  ) {}

  get pending(): number {
    return this.pendingRows;
  }

  /** Resolves once the request's rows are committed; rejects with a GatewayError otherwise. */
  write(table: TableModel, request: EncodedRequest): Promise<void> {
    if (this.closed) return Promise.reject(new BackpressureError(this.batch.retryAfterSeconds));
    // A request larger than the whole allowance still goes through when nothing waits.
    if (this.pendingRows > 0 && this.pendingRows + request.rows > this.batch.maxPendingRows) {
      this.metrics.backpressure.inc({ store: this.store });
      return Promise.reject(new BackpressureError(this.batch.retryAfterSeconds));
    }
    const key = `${table.spec.schema}.${table.spec.table}`;
    let q = this.queues.get(key);
    if (!q) {
      q = { waiting: [], waitingRows: 0, inFlight: 0, timer: undefined };
      this.queues.set(key, q);
    }
    this.pendingRows += request.rows;
    this.metrics.pendingRows.set({ store: this.store }, this.pendingRows);
    const queue = q;
    return new Promise<void>((resolve, reject) => {
      queue.waiting.push({ ...request, table, resolve, reject });
      queue.waitingRows += request.rows;
      if (queue.waitingRows >= this.batch.maxRows) this.drain(queue, false);
      else queue.timer ??= setTimeout(() => this.drain(queue, true), this.batch.maxDelayMs);
    });
  }

  /** Flushes batches while the table has flush slots; `due` flushes a partial batch too. */
  private drain(q: TableQueue, due: boolean): void {
    if (q.timer) {
      clearTimeout(q.timer);
      q.timer = undefined;
    }
    while (q.waiting.length > 0 && q.inFlight < this.batch.concurrency && (due || q.waitingRows >= this.batch.maxRows)) {
      const taken: Waiting[] = [];
      let rows = 0;
      const table = q.waiting[0].table;
      while (q.waiting.length > 0 && q.waiting[0].table === table && (taken.length === 0 || rows + q.waiting[0].rows <= this.batch.maxRows)) {
        const w = q.waiting.shift()!;
        taken.push(w);
        rows += w.rows;
      }
      q.waitingRows -= rows;
      q.inFlight++;
      void this.runFlush(table, taken, rows).finally(() => {
        q.inFlight--;
        this.pendingRows -= rows;
        this.metrics.pendingRows.set({ store: this.store }, this.pendingRows);
        if (q.waiting.length > 0) this.drain(q, q.waitingRows >= this.batch.maxRows || q.timer === undefined);
      });
    }
    if (q.waiting.length > 0 && !q.timer && q.inFlight < this.batch.concurrency) {
      q.timer = setTimeout(() => this.drain(q, true), this.batch.maxDelayMs);
    }
  }

  private async runFlush(table: TableModel, taken: Waiting[], rows: number): Promise<void> {
    const started = process.hrtime.bigint();
    const labels = { store: this.store, table: table.spec.table };
    try {
      await this.flushBatch(table, taken);
      this.metrics.rowsWritten.inc(labels, rows);
      this.metrics.flushSeconds.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      for (const w of taken) w.resolve();
    } catch (err) {
      if (err instanceof StoreRejectedError && taken.length > 1) {
        // One request's rows poisoned the batch: retry each alone so only it is refused.
        for (const w of taken) {
          try {
            await this.flushBatch(table, [w]);
            this.metrics.rowsWritten.inc(labels, w.rows);
            w.resolve();
          } catch (single) {
            w.reject(single);
          }
        }
        return;
      }
      this.metrics.flushFailures.inc(labels);
      this.logger.warn({ store: this.store, table: table.spec.table, rows, requests: taken.length, err: errorSummary(err) }, 'flush failed');
      for (const w of taken) w.reject(err);
    }
  }

  /** Flushes everything queued and waits for it; later writes are refused. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.pendingRows > 0) {
      for (const q of this.queues.values()) this.drain(q, true);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** Class and code only: a store's message can quote row values. */
export function errorSummary(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err };
  const e = err as Error & { code?: unknown; cause?: unknown };
  const cause = e.cause instanceof Error ? (e.cause as Error & { code?: unknown }) : undefined;
  return { name: e.name, code: e.code, cause: cause ? { name: cause.name, code: cause.code } : undefined };
}
