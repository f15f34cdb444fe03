import type { Readable } from 'node:stream';
import type { ResultField } from '../engine/contract';
import type { HotSession, PipelinedStatement, QueryResult, TxStatus } from '../engine/hot-session';
import type { Described, PortalRows } from '../engine/pg-extended-query';
import * as wire from '../wire';
import type { ErrorFields } from '../wire/error-response';

/**
 * An ErrorResponse from PostgreSQL to one of the engine's own messages. Shaped like
 * node-postgres's DatabaseError (`code`, `severity`, …) so the engine maps both alike.
 */
export class ServerErrorResponse extends Error {
  readonly code: string;
  readonly severity: string;
  readonly detail?: string;
  readonly hint?: string;
  constructor(readonly fields: ErrorFields) {
    super(fields.message);
    this.name = 'ServerErrorResponse';
    this.code = fields.code;
    this.severity = fields.severity;
    this.detail = fields.detail;
    this.hint = fields.hint;
  }
}

/** What the channel needs of the server connection it speaks on. */
export interface ChannelServer {
  send(bytes: Buffer): boolean;
  /** Resolves once the socket's buffer has room again. */
  whenWritable(): Promise<void>;
  status: TxStatus;
  unnamed: string | null;
}

/** Where messages PostgreSQL sends unasked go (ParameterStatus, notices, notifications): the client. */
export interface ChannelListener {
  parameter(name: string, value: string): void;
  /** NoticeResponse and NotificationResponse frames, relayed as they are. */
  asynchronous(frame: Buffer): void;
}

type Frame = { type: number; frame: Buffer };

/**
 * The engine's conversation on the server connection lent to the client: the engine's own
 * extended-protocol messages, their replies decoded here and never relayed. While a
 * channel is open the connection's replies come here instead of to the relay
 * (ServerConnection.openChannel), so the engine runs in the client's session: its role,
 * database, settings, transaction and snapshot.
 *
 * Only the unnamed statement and unnamed portal are used (never a simple Query, which
 * would also end an extended batch), and the server forgets which unnamed statement it
 * holds so the relay re-sends the client's when needed.
 */
export class SessionChannel implements HotSession {
  private readonly reader = new wire.FrameReader(1 << 30);
  private readonly frames: Frame[] = [];
  private waiter: (() => void) | null = null;
  private lostError: Error | null = null;
  private readonly writer = new wire.BufferWriter(1024);

  constructor(
    private readonly server: ChannelServer,
    private listener: ChannelListener,
  ) {}

  /** Each use: the session now lent the connection hears what PostgreSQL sends unasked. */
  reopen(listener: ChannelListener): void {
    this.listener = listener;
    // The engine replaces the unnamed statement: the relay must re-send the client's.
    this.server.unnamed = null;
  }

  /** Bytes from PostgreSQL (the connection's socket handler calls this while the channel is open). */
  push(chunk: Buffer): void {
    this.reader.push(chunk, (type, frame) => {
      if (type === wire.Backend.parameterStatus) {
        const { name, value } = wire.decodeParameterStatus(frame);
        this.listener.parameter(name, value);
        return;
      }
      if (type === wire.Backend.noticeResponse || type === wire.Backend.notificationResponse) {
        this.listener.asynchronous(frame);
        return;
      }
      this.frames.push({ type, frame });
      this.wake();
    });
  }

  /** The connection was lost: every wait ends with this error. */
  lost(error: Error): void {
    this.lostError = error;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async next(): Promise<Frame> {
    for (;;) {
      const f = this.frames.shift();
      if (f) return f;
      if (this.lostError) throw this.lostError;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  status(): TxStatus {
    return this.server.status;
  }

  private send(...frames: Buffer[]): void {
    this.server.send(frames.length === 1 ? frames[0] : Buffer.concat(frames));
  }

  private parse(sql: string, paramTypes: readonly number[]): Buffer {
    return wire.encodeParse({ name: '', sql, paramTypes: [...paramTypes] }, this.writer);
  }

  private bind(params: ReadonlyArray<string | null>, portal = ''): Buffer {
    return wire.encodeBind(
      { portal, statement: '', paramFormats: [], params: params.map((p) => (p === null ? null : Buffer.from(p))), resultFormats: [] },
      this.writer,
    );
  }

  /** One statement run to completion in the unnamed portal (its Sync is the caller's). */
  private runFrames(sql: string, params: ReadonlyArray<string | null>, paramTypes: readonly number[] = []): Buffer[] {
    return [this.parse(sql, paramTypes), this.bind(params), wire.encodeDescribe({ kind: 'P', name: '' }, this.writer), wire.encodeExecute({ portal: '', maxRows: 0 }, this.writer)];
  }

  /**
   * The replies up to ReadyForQuery (its status noted); after an ErrorResponse the rest
   * are skipped, and the error is thrown once ReadyForQuery has come.
   */
  private async *repliesUntilReady(failure: ErrorFields | null = null): AsyncGenerator<Frame> {
    for (;;) {
      const f = await this.next();
      if (f.type === wire.Backend.readyForQuery) {
        this.server.status = wire.decodeReadyForQuery(f.frame);
        if (failure) throw new ServerErrorResponse(failure);
        return;
      }
      if (f.type === wire.Backend.errorResponse) failure ??= wire.decodeErrorResponse(f.frame);
      else if (!failure) yield f;
    }
  }

  /** Reads until ReadyForQuery; the first ErrorResponse seen is thrown after it. */
  private async untilReady(onFrame: (f: Frame) => void = () => undefined, failure: ErrorFields | null = null): Promise<void> {
    for await (const f of this.repliesUntilReady(failure)) onFrame(f);
  }

  async query(sql: string, params: ReadonlyArray<string | null> = [], paramTypes: readonly number[] = []): Promise<QueryResult> {
    const result: QueryResult = { fields: [], rows: [], commandTag: '' };
    this.send(...this.runFrames(sql, params, paramTypes), wire.SYNC);
    await this.untilReady((f) => {
      if (f.type === wire.Backend.rowDescription) result.fields = fieldsOf(f.frame);
      else if (f.type === wire.Backend.dataRow) result.rows.push(textRow(f.frame));
      else if (f.type === wire.Backend.commandComplete) result.commandTag = wire.decodeCommandComplete(f.frame);
    });
    return result;
  }

  async pipeline(statements: readonly PipelinedStatement[]): Promise<QueryResult[]> {
    const results: QueryResult[] = statements.map((s) => ({ fields: [], rows: [], commandTag: '', ...(s.describeOnly ? { paramTypes: [] } : {}) }));
    const frames = statements.flatMap((s) =>
      s.describeOnly
        ? [this.parse(s.sql, s.paramTypes ?? []), wire.encodeDescribe({ kind: 'S', name: '' }, this.writer)]
        : this.runFrames(s.sql, s.params ?? [], s.paramTypes ?? []),
    );
    this.send(...frames, wire.SYNC);
    let at = 0;
    await this.untilReady((f) => {
      const result = results[at];
      // A describe ends with its RowDescription (or NoData); a run with CommandComplete.
      const describing = statements[at]?.describeOnly === true;
      if (f.type === wire.Backend.parameterDescription) result.paramTypes = wire.decodeParameterDescription(f.frame);
      else if (f.type === wire.Backend.rowDescription) {
        result.fields = fieldsOf(f.frame);
        if (describing) at++;
      } else if (f.type === wire.Backend.noData) {
        if (describing) at++;
      } else if (f.type === wire.Backend.dataRow) result.rows.push(textRow(f.frame));
      else if (f.type === wire.Backend.commandComplete) {
        result.commandTag = wire.decodeCommandComplete(f.frame);
        at++;
      } else if (f.type === wire.Backend.emptyQueryResponse) at++;
    });
    return results;
  }

  async describe(sql: string, paramTypes: readonly number[]): Promise<Described> {
    const described: Described = { paramTypes: [], fields: [] };
    this.send(this.parse(sql, paramTypes), wire.encodeDescribe({ kind: 'S', name: '' }, this.writer), wire.SYNC);
    await this.untilReady((f) => {
      if (f.type === wire.Backend.parameterDescription) described.paramTypes = wire.decodeParameterDescription(f.frame);
      else if (f.type === wire.Backend.rowDescription) described.fields = fieldsOf(f.frame);
    });
    return described;
  }

  /**
   * Bind/Execute with a row limit. Unnamed: Flush between pages (no Sync until the end,
   * so the portal lives between pages even outside a transaction block), and the caller
   * keeps the channel open meanwhile. Named (inside the client's transaction block, where
   * a portal outlives Sync): each page ends with Sync, so the connection can go back to
   * the relay between pages and the client's other statements run in between.
   */
  async openPortal(sql: string, params: ReadonlyArray<string | null>, paramTypes: readonly number[], pageRows: number, name?: string): Promise<PortalRows> {
    const portalName = name ?? '';
    const execute = wire.encodeExecute({ portal: portalName, maxRows: pageRows }, new wire.BufferWriter(64));
    const endOfPage = name ? wire.SYNC : wire.FLUSH;
    let fields: ResultField[] = [];
    let tag = '';
    let complete = false;
    let synced = false;
    // DataRow frames as received: decoded only for a reader of rows (next), relayed as they are by nextFrames.
    const readPage = async (): Promise<Buffer[]> => {
      const rows: Buffer[] = [];
      let ended = false;
      for (;;) {
        const f = await this.next();
        switch (f.type) {
          case wire.Backend.rowDescription:
            fields = fieldsOf(f.frame);
            continue;
          case wire.Backend.dataRow:
            rows.push(f.frame);
            continue;
          case wire.Backend.portalSuspended:
          case wire.Backend.commandComplete:
          case wire.Backend.emptyQueryResponse:
            if (f.type === wire.Backend.commandComplete) tag = wire.decodeCommandComplete(f.frame);
            if (f.type !== wire.Backend.portalSuspended) complete = true;
            if (!name) return rows;
            ended = true;
            continue;
          case wire.Backend.readyForQuery:
            this.server.status = wire.decodeReadyForQuery(f.frame);
            if (ended) return rows;
            continue;
          case wire.Backend.errorResponse: {
            complete = true;
            synced = true;
            const failure = wire.decodeErrorResponse(f.frame);
            if (!name) this.send(wire.SYNC);
            await this.untilReady(undefined, failure);
            return rows; // not reached: untilReady throws
          }
          default:
            continue;
        }
      }
    };
    this.send(this.parse(sql, paramTypes), this.bind(params, portalName), wire.encodeDescribe({ kind: 'P', name: portalName }, this.writer), execute, endOfPage);
    let first: Buffer[] | null = await readPage();
    // `then`: a statement sent ahead of the closing Sync (the engine's COMMIT), in the same round trip.
    const close = async (then?: string): Promise<void> => {
      if (synced) {
        if (then !== undefined) await this.query(then);
        return;
      }
      synced = true;
      complete = true;
      // A finished named portal lives on until closed, and keeps its tables in use.
      const closing = name ? [wire.encodeClose({ kind: 'P', name }, this.writer)] : [];
      const running = then !== undefined ? this.runFrames(then, []) : [];
      this.send(...closing, ...running, wire.SYNC);
      await this.untilReady();
    };
    const nextFrames = async (): Promise<Buffer[] | null> => {
      if (first) {
        const page = first;
        first = null;
        if (page.length > 0 || !complete) return page;
      }
      if (complete) return null;
      this.send(execute, endOfPage);
      const page = await readPage();
      return page.length === 0 && complete ? null : page;
    };
    return {
      fields,
      commandTag: () => tag,
      close: () => close(),
      closeWith: close,
      next: async () => {
        const page = await nextFrames();
        return page && page.map(textRow);
      },
      nextFrames,
    };
  }

  async copyIn(sql: string, source: Readable): Promise<number> {
    this.send(this.parse(sql, []), this.bind([]), wire.encodeExecute({ portal: '', maxRows: 0 }, this.writer), wire.FLUSH);
    for (;;) {
      const f = await this.next();
      if (f.type === wire.Backend.copyInResponse) break;
      if (f.type === wire.Backend.errorResponse) {
        this.send(wire.SYNC);
        await this.untilReady(undefined, wire.decodeErrorResponse(f.frame));
      }
    }
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        // Backpressure: wait for the socket when its buffer is full.
        if (!this.server.send(wire.encodeCopyData(chunk))) await this.server.whenWritable();
      }
      this.send(wire.COPY_DONE, wire.SYNC);
    } catch (error) {
      this.send(wire.encodeCopyFail('the cold tier failed while sending rows'), wire.SYNC);
      await this.untilReady().catch(() => undefined);
      throw error;
    }
    let rows = 0;
    await this.untilReady((f) => {
      if (f.type === wire.Backend.commandComplete) rows = Number(/\d+$/.exec(wire.decodeCommandComplete(f.frame))?.[0] ?? 0);
    });
    return rows;
  }

  async *copyOut(sql: string, params: ReadonlyArray<string | null>, paramTypes: readonly number[]): AsyncIterable<Buffer> {
    this.send(this.parse(sql, paramTypes), this.bind(params), wire.encodeExecute({ portal: '', maxRows: 0 }, this.writer), wire.SYNC);
    for await (const f of this.repliesUntilReady()) if (COPY_OUT_REPLIES.has(f.type)) yield f.frame;
  }
}

/** What a client of COPY … TO STDOUT is sent (ParseComplete and BindComplete are the engine's). */
const COPY_OUT_REPLIES = new Set<number>([wire.Backend.copyOutResponse, wire.Backend.copyData, wire.Backend.copyDone, wire.Backend.commandComplete]);

function fieldsOf(frame: Buffer): ResultField[] {
  return wire.decodeRowDescription(frame).map(({ format: _format, ...field }) => field);
}

function textRow(frame: Buffer): Array<string | null> {
  return wire.decodeDataRow(frame).map((v) => (v === null ? null : v.toString('utf8')));
}
