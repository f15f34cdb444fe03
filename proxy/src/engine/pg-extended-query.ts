import type { ResultField } from './contract';

/**
 * One extended-protocol round on a node-postgres connection, as a "submittable"
 * (what pg-cursor and pg-query-stream are): Parse with explicit parameter types, then
 * either Describe the statement (parameter types and result columns, nothing runs) or
 * Bind/Describe/Execute it and keep every value as PostgreSQL's text output. node-pg's
 * own Query cannot send parameter types separately from its type parsers, and it
 * converts values; the engine needs PostgreSQL's exact text and RowDescription.
 */

/** The slice of pg's Connection this uses (pg-protocol's serializer behind it). */
interface PgConnection {
  parse(msg: { text: string; name?: string; types?: number[] }): void;
  bind(msg: { portal?: string; statement?: string; values?: Array<string | null>; binary?: boolean }): void;
  describe(msg: { type: 'S' | 'P'; name?: string }): void;
  execute(msg: { portal?: string; rows?: number }): void;
  sync(): void;
  sendCopyFail(msg: string): void;
  once(event: 'parameterDescription', fn: (msg: { dataTypeIDs: number[] }) => void): void;
  removeListener(event: string, fn: (...args: never[]) => void): void;
}

interface RowDescriptionField {
  name: string;
  tableID: number;
  columnID: number;
  dataTypeID: number;
  dataTypeSize: number;
  dataTypeModifier: number;
}

export interface ExtendedQueryResult {
  paramTypes: number[];
  fields: ResultField[];
  rows: Array<Array<string | null>>;
  commandTag: string;
}

/** Something with pg.Client's `query(submittable)`. */
export interface SubmittableClient {
  query(submittable: unknown): unknown;
}

function toField(f: RowDescriptionField): ResultField {
  return {
    name: f.name,
    tableOid: f.tableID,
    columnAttr: f.columnID,
    typeOid: f.dataTypeID,
    typeSize: f.dataTypeSize,
    typeModifier: f.dataTypeModifier,
  };
}

class ExtendedQuery {
  readonly done: Promise<ExtendedQueryResult>;
  private resolve!: (r: ExtendedQueryResult) => void;
  private reject!: (e: unknown) => void;
  private readonly result: ExtendedQueryResult = { paramTypes: [], fields: [], rows: [], commandTag: '' };
  private connection: PgConnection | undefined;
  private readonly onParams = (msg: { dataTypeIDs: number[] }) => {
    this.result.paramTypes = msg.dataTypeIDs;
  };

  constructor(
    private readonly text: string,
    private readonly types: number[],
    private readonly values: Array<string | null> | undefined,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  submit(connection: PgConnection): void {
    this.connection = connection;
    connection.parse({ text: this.text, types: this.types });
    if (this.values === undefined) {
      connection.once('parameterDescription', this.onParams);
      connection.describe({ type: 'S' });
    } else {
      connection.bind({ values: this.values });
      connection.describe({ type: 'P' });
      connection.execute({ rows: 0 });
    }
    connection.sync();
  }

  handleRowDescription(msg: { fields: RowDescriptionField[] }): void {
    this.result.fields = msg.fields.map(toField);
  }

  handleDataRow(msg: { fields: Array<string | null> }): void {
    this.result.rows.push(msg.fields);
  }

  handleCommandComplete(msg: { text: string }): void {
    this.result.commandTag = msg.text;
  }

  handleEmptyQuery(): void {}

  handlePortalSuspended(): void {}

  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail('COPY is not supported here');
  }

  handleCopyData(): void {}

  /** node-pg detaches the query on an ErrorResponse (ReadyForQuery then goes to nobody): settle now. */
  handleError(err: unknown): void {
    this.connection?.removeListener('parameterDescription', this.onParams as never);
    this.reject(err);
  }

  handleReadyForQuery(): void {
    this.connection?.removeListener('parameterDescription', this.onParams as never);
    this.resolve(this.result);
  }
}

/** Describe without running: parameter types as PostgreSQL infers them, result columns. */
/** A statement's parameter types and result columns, as PostgreSQL describes them. */
export interface Described {
  paramTypes: number[];
  fields: ResultField[];
}

export async function describeStatement(client: SubmittableClient, text: string, types: number[] = []): Promise<Described> {
  const q = new ExtendedQuery(text, types, undefined);
  client.query(q);
  const r = await q.done;
  return { paramTypes: r.paramTypes, fields: r.fields };
}

/** Runs a statement with text parameters; values stay PostgreSQL's text output. */
export async function runStatement(client: SubmittableClient, text: string, values: Array<string | null>, types: number[] = []): Promise<ExtendedQueryResult> {
  const q = new ExtendedQuery(text, types, values);
  client.query(q);
  return q.done;
}

/** Rows of a running statement, fetched a page at a time (the portal stays open between pages). */
export interface PortalRows {
  fields: ResultField[];
  /** The next page, or null once the statement is complete. */
  next(): Promise<Array<Array<string | null>> | null>;
  /**
   * The next page as PostgreSQL's DataRow messages, as received (text format), or null
   * once complete: for a consumer that relays them unchanged. A portal is read with
   * next() or with nextFrames(), not both. Absent where no wire is read (node-postgres).
   */
  nextFrames?(): Promise<Buffer[] | null>;
  commandTag(): string;
  /** Ends the statement early if it is still running; resolves once the connection is idle. */
  close(): Promise<void>;
  /**
   * close(), and `then` run before the closing Sync: one round trip where close() and a
   * statement would take two (the engine's COMMIT, docs/routing.md). Its error is thrown.
   * Absent where the portal syncs by itself (node-postgres).
   */
  closeWith?(then: string): Promise<void>;
}

/**
 * Bind/Execute with a row limit, like pg-cursor: PostgreSQL suspends the portal after
 * each page and continues on the next Execute, so a large result moves through the
 * proxy in bounded pieces at the pace its consumer reads.
 */
class PortalQuery {
  fields: ResultField[] = [];
  tag = '';
  private page: Array<Array<string | null>> = [];
  private connection!: PgConnection & { flush(): void };
  private complete = false;
  private idle = false;
  private failure: unknown;
  private waiter: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  private idleWaiter: (() => void) | undefined;

  constructor(
    private readonly text: string,
    private readonly types: number[],
    private readonly values: Array<string | null>,
    private readonly pageRows: number,
  ) {}

  submit(connection: PgConnection & { flush(): void }): void {
    this.connection = connection;
    connection.parse({ text: this.text, types: this.types });
    connection.bind({ values: this.values });
    connection.describe({ type: 'P' });
    connection.execute({ rows: this.pageRows });
    connection.flush();
  }

  /** Waits for the first page (and so the row description, or the statement's error). */
  first(): Promise<void> {
    return this.wait();
  }

  private wait(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve();
  }

  handleRowDescription(msg: { fields: RowDescriptionField[] }): void {
    this.fields = msg.fields.map(toField);
  }

  handleDataRow(msg: { fields: Array<string | null> }): void {
    this.page.push(msg.fields);
  }

  handlePortalSuspended(): void {
    this.wake();
  }

  handleCommandComplete(msg: { text: string }): void {
    this.tag = msg.text;
    this.complete = true;
    this.connection.sync();
    this.wake();
  }

  handleEmptyQuery(): void {
    this.complete = true;
    this.connection.sync();
    this.wake();
  }

  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail('COPY is not supported here');
  }

  handleCopyData(): void {}

  handleError(err: unknown): void {
    // node-pg has detached this query; Sync makes PostgreSQL end the failed exchange.
    this.failure = err;
    this.complete = true;
    this.idle = true;
    this.connection.sync();
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
    this.idleWaiter?.();
  }

  handleReadyForQuery(): void {
    this.idle = true;
    this.idleWaiter?.();
  }

  async next(): Promise<Array<Array<string | null>> | null> {
    if (this.failure !== undefined) throw this.failure;
    if (this.page.length === 0) {
      if (this.complete) return null;
      this.connection.execute({ rows: this.pageRows });
      this.connection.flush();
      await this.wait();
      if (this.page.length === 0) return null;
    }
    const out = this.page;
    this.page = [];
    return out;
  }

  async close(): Promise<void> {
    if (!this.complete) {
      this.complete = true;
      this.connection.sync();
    }
    if (!this.idle) await new Promise<void>((resolve) => (this.idleWaiter = resolve));
  }
}

export async function openPortal(
  client: SubmittableClient,
  text: string,
  values: Array<string | null>,
  types: number[],
  pageRows = 1000,
): Promise<PortalRows> {
  const q = new PortalQuery(text, types, values, pageRows);
  client.query(q);
  await q.first();
  return { fields: q.fields, next: () => q.next(), commandTag: () => q.tag, close: () => q.close() };
}
