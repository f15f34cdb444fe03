import type { Logger } from 'pino';
import { SqlStateError, type EngineResult, type QueryEngine, type ResultField, type SessionContext } from '../engine/contract';
import type { ProxyMetrics } from '../metrics';
import * as wire from '../wire';
import type { ErrorFields } from '../wire/error-response';
import type { Statement } from './message-dispatch';
import type { HotSession } from '../engine/hot-session';
import type { RoutedPlan } from '../router/routed-plan';

/** What the runner needs from its session. */
export interface EngineHost {
  readonly context: SessionContext;
  /**
   * The server connection lent to this client, every earlier reply relayed, opened as a
   * channel for the engine (the client's session: role, database, settings, transaction).
   */
  openSession(): Promise<HotSession>;
  /** Gives the connection back to the relay (and the pool, when the client is idle). */
  closeSession(): void;
  localReply(bytes: Buffer): void;
  writeAsync(bytes: Buffer): Promise<void>;
  errorFields(fields: ErrorFields, source: string): Buffer;
  skipUntilSync(): void;
}

interface EnginePortal {
  statement: Statement;
  params: Array<string | null>;
  resultFormats: number[];
  result?: EngineResult;
  iterator?: AsyncIterator<Array<string | null>>;
  rows: number;
}

/** Rows are sent in writes of about this many bytes. */
const WRITE_BATCH = 64 * 1024;

/**
 * Answers the statements the router gives to the tier engine, in PostgreSQL's shape:
 * RowDescription with the engine's OIDs, DataRows in text or (when asked) binary,
 * CommandComplete with the engine's tag. SqlStateErrors reach the client with their
 * SQLSTATE; anything else is logged and becomes a generic XX000.
 */
export class EngineRunner {
  private readonly portals = new Map<string, EnginePortal>();
  private abort: AbortController | null = null;
  /** A portal whose rows are only partly sent (Execute with a row limit): it holds the server until settled. */
  private suspended: EnginePortal | null = null;
  private readonly writer = new wire.BufferWriter(4096);

  constructor(
    private readonly engine: QueryEngine | null,
    private readonly host: EngineHost,
    private readonly log: Logger,
    private readonly metrics: ProxyMetrics,
  ) {}

  hasPortals(): boolean {
    return this.portals.size > 0;
  }

  hasPortal(name: string): boolean {
    return this.portals.has(name);
  }

  dropPortal(name: string): void {
    this.portals.delete(name);
  }

  /** True while a suspended portal holds the server (only its Executes may come next). */
  holdsServer(): boolean {
    return this.suspended !== null;
  }

  isSuspended(name: string): boolean {
    return this.suspended !== null && this.portals.get(name) === this.suspended;
  }

  /**
   * Ends a suspended portal's statement before any other message: its rows are dropped
   * (as PostgreSQL drops an unfinished portal at the end of its transaction) and the
   * server goes back to the relay.
   */
  async settle(): Promise<void> {
    const portal = this.suspended;
    if (!portal) return;
    this.suspended = null;
    try {
      await portal.iterator?.return?.();
    } catch {
      // the statement's own failure was already reported, or nobody asks any more
    } finally {
      portal.result = undefined;
      portal.iterator = undefined;
      this.host.closeSession();
    }
  }

  cancel(): void {
    this.abort?.abort();
  }

  private require(): QueryEngine {
    if (!this.engine) throw new SqlStateError('0A000', 'the tier engine is not configured in this proxy');
    return this.engine;
  }

  private errorBytes(error: unknown): Buffer {
    if (error instanceof SqlStateError || error instanceof wire.UnsupportedBinaryTypeError) {
      const e = error as SqlStateError;
      return this.host.errorFields({ severity: 'ERROR', code: e.sqlState, message: e.message, detail: e.detail, hint: e.hint }, 'engine');
    }
    if (this.abort?.signal.aborted) {
      return this.host.errorFields({ severity: 'ERROR', code: '57014', message: 'canceling statement due to user request' }, 'engine');
    }
    // Engine messages may quote the statement: log the kind of error, not its text.
    this.log.error({ errName: (error as Error)?.name, errCode: (error as { code?: string })?.code }, 'tier engine failed');
    return this.host.errorFields({ severity: 'ERROR', code: 'XX000', message: 'internal error in the Strata tier engine' }, 'engine');
  }

  bind(statement: Statement, bind: wire.Bind): void {
    try {
      const types = statement.described?.paramTypes ?? statement.paramTypes;
      const params = bind.params.map((value, i) => {
        if (value === null) return null;
        const format = bind.paramFormats.length === 0 ? 0 : bind.paramFormats.length === 1 ? bind.paramFormats[0] : bind.paramFormats[i];
        return format === 1 ? wire.binaryToText(types[i] ?? 0, value) : value.toString('utf8');
      });
      this.portals.set(bind.portal, { statement, params, resultFormats: bind.resultFormats, rows: 0 });
      this.host.localReply(wire.BIND_COMPLETE);
    } catch (error) {
      this.host.localReply(this.errorBytes(error instanceof RangeError ? new SqlStateError('22P03', 'invalid binary parameter') : error));
      this.host.skipUntilSync();
    }
  }

  private async described(statement: Statement): Promise<{ paramTypes: number[]; fields: ResultField[] }> {
    if (!statement.described) {
      const engine = this.require();
      const hot = await this.host.openSession();
      try {
        statement.described = await engine.describe({ sql: statement.sql, paramTypes: statement.paramTypes, plan: planOf(statement) }, this.host.context, hot);
      } finally {
        this.host.closeSession();
      }
    }
    return statement.described;
  }

  async describeStatement(statement: Statement): Promise<void> {
    try {
      const { paramTypes, fields } = await this.described(statement);
      const types = statement.paramTypes.length >= paramTypes.length ? statement.paramTypes : paramTypes;
      this.host.localReply(Buffer.concat([wire.encodeParameterDescription(types), fields.length ? wire.encodeRowDescription(fields, []) : wire.NO_DATA]));
    } catch (error) {
      this.host.localReply(this.errorBytes(error));
      this.host.skipUntilSync();
    }
  }

  async describePortal(name: string): Promise<void> {
    const portal = this.portals.get(name)!;
    try {
      const { fields } = await this.described(portal.statement);
      this.host.localReply(fields.length ? wire.encodeRowDescription(fields, formatsFor(portal.resultFormats, fields.length)) : wire.NO_DATA);
    } catch (error) {
      this.host.localReply(this.errorBytes(error));
      this.host.skipUntilSync();
    }
  }

  /** Execute on an engine portal; every earlier reply has been sent. */
  async execute(execute: wire.Execute): Promise<void> {
    const portal = this.portals.get(execute.portal)!;
    let open = portal === this.suspended;
    try {
      if (!portal.result) {
        const engine = this.require();
        const hot = await this.host.openSession();
        open = true;
        this.abort = new AbortController();
        portal.result = await engine.execute(
          { sql: portal.statement.sql, params: portal.params, paramTypes: portal.statement.paramTypes, plan: planOf(portal.statement) },
          this.host.context,
          this.abort.signal,
          hot,
        );
        const formats = formatsFor(portal.resultFormats, portal.result.fields.length);
        // The whole answer in text, as PostgreSQL sends it: its DataRows relayed unchanged.
        if (execute.maxRows === 0 && !portal.result.raw && portal.result.rowFrames && formats.every((f) => f === 0)) {
          await this.relayRows(portal.result.rowFrames);
          await this.host.writeAsync(wire.encodeCommandComplete(portal.result.commandTag()));
          portal.result = undefined;
          return;
        }
        portal.iterator = portal.result.rows[Symbol.asyncIterator]();
      } else if (!open) {
        // Rows waiting in a named portal of the client's block: the server again, for the next page.
        await this.host.openSession();
        open = true;
      }
      if (portal.result.raw) {
        for await (const frame of portal.result.raw) await this.host.writeAsync(frame);
        portal.result = undefined;
        return;
      }
      const formats = formatsFor(portal.resultFormats, portal.result.fields.length);
      const { done, sent } = await this.stream(portal.result.fields, formats, portal.iterator!, execute.maxRows);
      if (done) {
        // Under a row limit PostgreSQL's tag counts the rows of the last Execute only.
        const tag = portal.result.commandTag();
        await this.host.writeAsync(wire.encodeCommandComplete(execute.maxRows > 0 ? tag.replace(/^SELECT \d+$/, `SELECT ${sent}`) : tag));
        portal.result = undefined;
        portal.iterator = undefined;
      } else {
        if (portal.result.holdsSession !== false) this.suspended = portal;
        await this.host.writeAsync(wire.PORTAL_SUSPENDED);
      }
    } catch (error) {
      portal.result = undefined;
      await this.host.writeAsync(this.errorBytes(error));
      this.host.skipUntilSync();
    } finally {
      this.abort = null;
      const keep = this.suspended === portal && portal.result !== undefined;
      if (!keep) {
        if (this.suspended === portal) this.suspended = null;
        if (open) this.host.closeSession();
      }
    }
  }

  /** One statement of a simple query; false when it failed (the rest of the string is skipped). */
  async simpleQuery(sql: string, plan?: RoutedPlan): Promise<boolean> {
    let open = false;
    try {
      const engine = this.require();
      const hot = await this.host.openSession();
      open = true;
      this.abort = new AbortController();
      const result = await engine.execute({ sql, params: [], paramTypes: [], plan }, this.host.context, this.abort.signal, hot);
      if (result.raw) {
        for await (const frame of result.raw) await this.host.writeAsync(frame);
        return true;
      }
      const formats = formatsFor([], result.fields.length);
      if (result.fields.length) await this.host.writeAsync(wire.encodeRowDescription(result.fields, formats));
      if (result.rowFrames && !result.raw) await this.relayRows(result.rowFrames);
      else await this.stream(result.fields, formats, result.rows[Symbol.asyncIterator](), 0);
      await this.host.writeAsync(wire.encodeCommandComplete(result.commandTag()));
      return true;
    } catch (error) {
      await this.host.writeAsync(this.errorBytes(error));
      return false;
    } finally {
      this.abort = null;
      if (open) this.host.closeSession();
    }
  }

  /**
   * Relays PostgreSQL's DataRow messages as they came (text format: what stream() would
   * encode from their decoded values, byte for byte), in writes of about WRITE_BATCH.
   * Decoding and encoding every value cost ~2 µs a row (a 1,667-row answer: 3.7 ms of the
   * proxy's CPU, bench/cold's timegroup-1h-avg-all at 3M rows, --cpu-prof).
   */
  private async relayRows(pages: AsyncIterable<Buffer[]>): Promise<void> {
    const batch: Buffer[] = [];
    let size = 0;
    for await (const page of pages) {
      for (const frame of page) {
        batch.push(frame);
        size += frame.length;
      }
      if (size >= WRITE_BATCH) {
        await this.host.writeAsync(Buffer.concat(batch, size));
        batch.length = 0;
        size = 0;
      }
    }
    if (batch.length) await this.host.writeAsync(Buffer.concat(batch, size));
  }

  /** Sends rows until the iterator ends (done) or maxRows were sent; `sent`: how many. */
  private async stream(fields: ResultField[], formats: number[], rows: AsyncIterator<Array<string | null>>, maxRows: number): Promise<{ done: boolean; sent: number }> {
    const batch: Buffer[] = [];
    let size = 0;
    let sent = 0;
    for (;;) {
      if (maxRows > 0 && sent >= maxRows) break;
      const next = await rows.next();
      if (next.done) {
        if (batch.length) await this.host.writeAsync(Buffer.concat(batch));
        return { done: true, sent };
      }
      const values = next.value.map((value, i) => (value === null || formats[i] === 0 ? value : wire.textToBinary(fields[i].typeOid, value)));
      const frame = wire.encodeDataRow(values, this.writer);
      batch.push(frame);
      size += frame.length;
      sent++;
      if (size >= WRITE_BATCH) {
        await this.host.writeAsync(Buffer.concat(batch));
        batch.length = 0;
        size = 0;
      }
    }
    if (batch.length) await this.host.writeAsync(Buffer.concat(batch));
    return { done: false, sent };
  }
}

/** The statements as the router parsed them when it sent this one to the engine. */
function planOf(statement: Statement): RoutedPlan | undefined {
  return statement.route.target === 'engine' ? statement.route.plan : undefined;
}

/** Bind's result formats: none = all text, one = for every column, else one per column. */
function formatsFor(formats: number[], columns: number): number[] {
  if (formats.length === 0) return new Array<number>(columns).fill(0);
  if (formats.length === 1) return new Array<number>(columns).fill(formats[0]);
  return formats;
}
