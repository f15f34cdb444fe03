import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Logger } from 'pino';
import { chQualified, pgIdent, pgQualified, type ColdStore } from '@strata/core';
import { StoreRejectedError } from '../errors';
import { errorSummary } from '../writers/batching-writer';
import { insertClickhouseBatch } from '../writers/clickhouse-insert';
import { withPgClient } from '../writers/pg-client';
import { classifyPgError } from '../writers/postgres-copy';
import { claimIds, ensureAppliedLedger, sweepAppliedLedger } from './applied-ledger';
import type { BufferMetrics } from './buffer-metrics';
import { INGEST_HEADERS, MalformedIngestMessageError, parseIngestMessage, type IngestMessage } from './ingest-message';
import type { NatsBuffer } from './nats-buffer';

/**
 * A writer: takes batches from the stream's durable pull consumer and applies them to
 * their store exactly once, acking each message only after its rows committed.
 *
 * - PostgreSQL: one transaction per fetched batch — the message ids into
 *   strata.ingest_applied (ids already there are skipped: a redelivery), one COPY per
 *   table, COMMIT, then the acks. A crash before COMMIT writes nothing; a crash after it
 *   leaves ids that make the redelivery a no-op.
 * - ClickHouse: one insert per message with insert_deduplication_token = message id, so a
 *   redelivered message is dropped by the table's deduplication window.
 * - A batch the store refuses for its rows is retried message by message; the message it
 *   still refuses goes to the dead-letter stream with its reason and is acked, so it does
 *   not block the stream. A store that cannot be reached gets the messages back later
 *   (nak with a delay): the gateway keeps accepting while the stream has room.
 */

export const WRITER_STEPS = {
  /** Messages taken, nothing written yet. */
  fetched: 'fetched',
  /** PostgreSQL: rows copied and ids claimed inside the open transaction. */
  written: 'written',
  /** PostgreSQL: committed, not yet acked. */
  committed: 'committed',
  /** ClickHouse: one message inserted, not yet acked. */
  inserted: 'inserted',
} as const;
export type WriterStep = (typeof WRITER_STEPS)[keyof typeof WRITER_STEPS];

export interface BufferWriterDeps {
  buffer: NatsBuffer;
  pool: Pool;
  cold: ColdStore;
  coldDatabase: string;
  metrics: BufferMetrics;
  logger: Logger;
  /** Called at each step of a batch (fault tests pause or die there). */
  onStep?: (step: WriterStep) => Promise<void>;
  /** Delay before an unreachable store sees the batch again, ms. Default 1000. */
  retryDelayMs?: number;
  /** How often lag is measured, ms. Default 2000. */
  lagIntervalMs?: number;
  /**
   * Batches one writer applies at once. Default 1: two COPYs into one table at once were
   * slower than one after the other (gateway/README.md, bench-ingest).
   */
  concurrency?: number;
}

interface Delivered {
  m: JsMsg;
  msg: IngestMessage;
  /** Other deliveries of the same message in this batch. */
  also: JsMsg[];
}

const SWEEP_EVERY_MS = 60_000;

export class BufferWriter {
  private readonly queue: JsMsg[] = [];
  /** Apply loops waiting for messages. */
  private idle: (() => void)[] = [];
  private stopped = false;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private lastSweep = Date.now();

  private constructor(private readonly d: BufferWriterDeps) {}

  static async start(deps: BufferWriterDeps): Promise<BufferWriter> {
    await deps.buffer.ensureStreams();
    await deps.buffer.ensureConsumer();
    await ensureAppliedLedger(deps.pool);
    const w = new BufferWriter(deps);
    await w.run();
    return w;
  }

  private get cfg() {
    return this.d.buffer.cfg;
  }

  private async run(): Promise<void> {
    const consumer = await this.d.buffer.js.consumers.get(this.cfg.stream, this.cfg.consumer);
    const messages = await consumer.consume({ max_messages: this.cfg.batchMessages });
    this.messages = messages;
    void (async () => {
      for await (const m of messages) {
        this.queue.push(m);
        this.idle.shift()?.();
      }
    })().catch((err: unknown) => this.d.logger.error({ err: errorSummary(err) }, 'buffer consumer stopped'));
    // consume() keeps pulling while this writer is busy: messages waiting here are kept
    // from redelivery until their turn.
    this.timers.push(setInterval(() => this.queue.forEach((m) => m.working()), (this.cfg.ackWaitSeconds * 1000) / 3));
    this.timers.push(setInterval(() => void this.measureLag(), this.d.lagIntervalMs ?? 2000));
    this.loop = Promise.all(Array.from({ length: this.d.concurrency ?? 1 }, () => this.applyLoop())).then(() => undefined);
  }

  private async applyLoop(): Promise<void> {
    while (!this.stopped) {
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => this.idle.push(resolve));
        continue;
      }
      const taken = this.queue.splice(0, this.cfg.batchMessages);
      try {
        await this.applyBatch(taken);
      } catch (err) {
        // Unexpected (a bug, not a store): give the messages back rather than lose them.
        this.d.logger.error({ err: errorSummary(err) }, 'buffer batch failed');
        for (const m of taken) m.nak(this.d.retryDelayMs ?? 1000);
        await sleep(this.d.retryDelayMs ?? 1000);
      }
    }
  }

  private async applyBatch(taken: JsMsg[]): Promise<void> {
    const pg: Delivered[] = [];
    const ch: Delivered[] = [];
    for (const m of taken) {
      let msg: IngestMessage;
      try {
        msg = parseIngestMessage(m.headers?.get('Nats-Msg-Id') || undefined, (name) => m.headers?.get(name) || undefined, m.data);
      } catch (err) {
        if (!(err instanceof MalformedIngestMessageError)) throw err;
        await this.deadLetter({ m, msg: undefined, also: [] }, `malformed message: ${err.message}`);
        continue;
      }
      if (m.redelivered) this.d.metrics.redeliveries.inc({ store: msg.store });
      // A message redelivered while this writer still held it arrives twice: apply it once, ack both.
      const same = (msg.store === 'postgresql' ? pg : ch).find((d) => d.msg.id === msg.id);
      if (same) same.also.push(m);
      else (msg.store === 'postgresql' ? pg : ch).push({ m, msg, also: [] });
    }
    await this.d.onStep?.(WRITER_STEPS.fetched);
    await Promise.all([this.applyPostgres(pg), this.applyClickhouse(ch)]);
  }

  private async applyPostgres(items: Delivered[]): Promise<void> {
    if (items.length === 0) return;
    const started = process.hrtime.bigint();
    let fresh: Set<string>;
    try {
      fresh = await this.pgTransaction(items);
    } catch (err) {
      if (err instanceof StoreRejectedError) {
        if (items.length > 1) {
          for (const item of items) await this.applyPostgres([item]);
        } else {
          await this.deadLetter(items[0], rejectionReason(err));
        }
        return;
      }
      await this.giveBack('postgresql', items, err);
      return;
    }
    this.d.metrics.applySeconds.observe({ store: 'postgresql' }, Number(process.hrtime.bigint() - started) / 1e9);
    await this.d.onStep?.(WRITER_STEPS.committed);
    for (const d of items) {
      ackAll(d);
      const { msg } = d;
      const applied = fresh.has(msg.id);
      this.d.metrics.applied.inc({ store: 'postgresql', outcome: applied ? 'applied' : 'duplicate' });
      if (applied) this.d.metrics.rowsApplied.inc({ store: 'postgresql', table: msg.table }, msg.rows);
    }
  }

  private pgTransaction(items: Delivered[]): Promise<Set<string>> {
    return withPgClient(this.d.pool, async (client, discard) => {
      try {
        await client.query('BEGIN');
        const fresh = await claimIds(client, this.cfg.stream, items.map(({ m, msg }) => ({ id: msg.id, seq: m.seq })));
        const groups = new Map<string, IngestMessage[]>();
        for (const { msg } of items) {
          if (!fresh.has(msg.id)) continue;
          const key = `${msg.schema}.${msg.table}(${msg.columns.join(',')})`;
          const g = groups.get(key);
          if (g) g.push(msg);
          else groups.set(key, [msg]);
        }
        for (const g of groups.values()) {
          const { schema, table, columns } = g[0];
          const copy = client.query(copyFrom(`COPY ${pgQualified(schema, table)} (${columns.map(pgIdent).join(', ')}) FROM STDIN`));
          await pipeline(Readable.from(g.map((msg) => msg.data)), copy);
        }
        await this.d.onStep?.(WRITER_STEPS.written);
        await client.query('COMMIT');
        return fresh;
      } catch (err) {
        if (err instanceof StoreRejectedError) throw err;
        const mapped = classifyPgError(err);
        if (mapped instanceof StoreRejectedError) await client.query('ROLLBACK').catch(() => undefined);
        else discard(err as Error);
        throw mapped;
      }
    });
  }

  private async applyClickhouse(items: Delivered[]): Promise<void> {
    for (const item of items) {
      const { msg } = item;
      const started = process.hrtime.bigint();
      try {
        await insertClickhouseBatch(this.d.cold, { table: chQualified(this.d.coldDatabase, msg.table), columns: msg.columns, data: msg.data, rows: msg.rows, dedupToken: msg.id }, 1);
      } catch (err) {
        if (err instanceof StoreRejectedError) await this.deadLetter(item, rejectionReason(err));
        else await this.giveBack('clickhouse', [item], err);
        continue;
      }
      this.d.metrics.applySeconds.observe({ store: 'clickhouse' }, Number(process.hrtime.bigint() - started) / 1e9);
      await this.d.onStep?.(WRITER_STEPS.inserted);
      ackAll(item);
      // ClickHouse does not say whether the token dropped the insert: counted as applied.
      this.d.metrics.applied.inc({ store: 'clickhouse', outcome: 'applied' });
      this.d.metrics.rowsApplied.inc({ store: 'clickhouse', table: msg.table }, msg.rows);
    }
  }

  /** The store is unreachable: the messages come back after a delay, and this writer waits too. */
  private async giveBack(store: 'postgresql' | 'clickhouse', items: Delivered[], err: unknown): Promise<void> {
    const delay = this.d.retryDelayMs ?? 1000;
    this.d.metrics.applyFailures.inc({ store });
    this.d.logger.warn({ store, messages: items.length, err: errorSummary(err) }, 'store unavailable: batch redelivered later');
    for (const d of items) for (const m of [d.m, ...d.also]) m.nak(delay);
    await sleep(delay);
  }

  /**
   * The message as it came, with the reason, to `<deadLetterPrefix>.<store>.<schema>.<table>`;
   * then acked. Published with the message's id, so a writer dying between the two
   * publishes it once (JetStream's duplicate window).
   */
  private async deadLetter(d: Delivered | (Omit<Delivered, 'msg'> & { msg: undefined }), reason: string): Promise<void> {
    const { m, msg } = d;
    const h = natsHeaders();
    if (m.headers) for (const [k, v] of m.headers) if (k !== 'Nats-Msg-Id') for (const value of v) h.append(k, value);
    h.set(INGEST_HEADERS.reason, reason.replace(/[\r\n]+/g, ' ').slice(0, 1024));
    h.set(INGEST_HEADERS.sourceSeq, String(m.seq));
    const subject = msg ? `${this.cfg.deadLetterPrefix}.${msg.store}.${msg.schema}.${msg.table}` : `${this.cfg.deadLetterPrefix}.malformed`;
    try {
      await this.d.buffer.js.publish(subject, m.data, { headers: h, msgID: msg?.id ?? `${this.cfg.stream}-${m.seq}` });
    } catch (err) {
      await this.giveBack(msg?.store ?? 'postgresql', [d as Delivered], err);
      return;
    }
    ackAll(d);
    this.d.metrics.deadLetters.inc({ store: msg?.store ?? 'unknown', table: msg?.table ?? 'unknown' });
    this.d.logger.warn({ store: msg?.store, table: msg?.table, subject, seq: m.seq }, 'batch refused by its store: moved to the dead-letter stream');
  }

  private async measureLag(): Promise<void> {
    try {
      const { jsm } = this.d.buffer;
      const [ci, si] = await Promise.all([jsm.consumers.info(this.cfg.stream, this.cfg.consumer), jsm.streams.info(this.cfg.stream)]);
      this.d.metrics.lagMessages.set(ci.num_pending + ci.num_ack_pending);
      // Work-queue retention: the stream's first message is the oldest not yet applied.
      this.d.metrics.lagSeconds.set(si.state.messages > 0 ? Math.max(0, (Date.now() - Date.parse(si.state.first_ts)) / 1000) : 0);
      if (Date.now() - this.lastSweep >= SWEEP_EVERY_MS) {
        this.lastSweep = Date.now();
        await sweepAppliedLedger(this.d.pool, this.cfg.stream, ci.ack_floor.stream_seq, this.cfg.ledgerRetentionSeconds);
      }
    } catch (err) {
      this.d.logger.debug({ err: errorSummary(err) }, 'buffer lag not measured');
    }
  }

  /** Stops taking messages, finishes the batch in hand, gives the rest back. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await this.messages?.close().catch(() => undefined);
    for (const wake of this.idle.splice(0)) wake();
    await this.loop;
    for (const m of this.queue.splice(0)) m.nak();
  }
}

function ackAll(d: { m: JsMsg; also: JsMsg[] }): void {
  d.m.ack();
  for (const m of d.also) m.ack();
}

/** The store's own words (a SQLSTATE and message, a ClickHouse code): kept with the dead letter, never logged. */
function rejectionReason(err: StoreRejectedError): string {
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const detail = cause && typeof cause.message === 'string' ? `: ${cause.message}` : '';
  return `${err.message.replace(/; nothing from this request was written$/, '')}${detail}`;
}
