import { resolve } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { Session } from 'chdb';
import { chIdent, chLiteral } from '../ddl/sql';
import { ColdStoreError, type ColdStore, type CommandOptions, type QueryParams, type TsvInsert } from './cold-store';
import type { ColdStoreLogger } from './http-cold-store';

/** The cold tier as the ClickHouse engine in this process (chDB): single-node mode. */
export interface EmbeddedColdStoreConfig {
  /** chDB data directory. One per process: chDB binds the engine to one path. */
  path: string;
  /**
   * Current database for unqualified names, once it exists; until then names resolve
   * in `default`, exactly as with HttpColdStore.
   */
  database: string;
}

/**
 * Engine settings fixed at connect. ClickHouse's server quotes 64-bit integers in JSON
 * output by default and chDB does not; quoting here makes both stores return the same
 * JS values (strings, no precision loss past 2^53).
 */
const ENGINE_ARGS = ['--output_format_json_quote_64bit_integers=1'] as const;

interface OpenEngine {
  path: string;
  session: Session;
  stores: number;
  /** The session's current database, as last set by USE. */
  currentDatabase: string | undefined;
  /** One operation at a time: USE is session state, and the connection runs one query at a time anyway. */
  tail: Promise<unknown>;
}

/** chDB binds one data directory per process, so this module holds at most one engine. */
let engine: OpenEngine | undefined;

function acquireEngine(path: string): OpenEngine {
  if (engine) {
    if (engine.path !== path) {
      throw new ColdStoreError(
        `the embedded ClickHouse engine (chDB) is already open on ${engine.path} in this process; ` +
          `it cannot open a second data directory (${path}). Use one path per process, or close every EmbeddedColdStore on the first one.`,
      );
    }
    engine.stores++;
    return engine;
  }
  let session: Session;
  try {
    // Loaded on first use: libchdb is a few hundred MB of address space that processes
    // talking to a ClickHouse server (the proxy, the gateway) never need.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Session: ChdbSession } = require('chdb') as typeof import('chdb');
    session = new ChdbSession(path, { connectionArgs: [...ENGINE_ARGS] });
  } catch (err) {
    throw new ColdStoreError(`cannot open the embedded ClickHouse engine (chDB) on ${path}: ${chdbErrorSummary(err)}`, undefined, {
      cause: err,
    });
  }
  engine = { path, session, stores: 1, currentDatabase: undefined, tail: Promise.resolve() };
  return engine;
}

function releaseEngine(open: OpenEngine): void {
  open.stores--;
  if (open.stores > 0) return;
  if (engine === open) engine = undefined;
  // Session.close() defers the native teardown behind operations still running.
  open.session.close();
}

function exclusive<R>(open: OpenEngine, task: () => Promise<R>): Promise<R> {
  const result = open.tail.then(task);
  open.tail = result.catch(() => undefined);
  return result;
}

type Operation = 'ping' | 'query' | 'command' | 'insert';

/** Error-shaped, from any realm (the addon's errors need not share this context's Error). */
function isErrorLike(err: unknown): err is Error {
  return typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string';
}

/** chDB's error text can quote the statement or a parameter; only its class goes in messages. */
function chdbErrorSummary(err: unknown): string {
  if (!isErrorLike(err)) return String(err);
  const code = (err as { code?: unknown }).code;
  const reason = (err as { reason?: unknown }).reason;
  return [err.name, typeof code === 'string' ? code : undefined, typeof reason === 'string' ? reason : undefined]
    .filter(Boolean)
    .join(' ');
}

/** ClickHouse's code (from chDB's typed error, else the "Code: N." text) and exception name. */
export function clickhouseErrorOf(err: unknown): { code: number; name?: string } | undefined {
  if (!isErrorLike(err)) return undefined;
  const typed = (err as { clickhouseCode?: unknown }).clickhouseCode;
  const parsed = /Code: (\d+)\./.exec(err.message);
  const code = typeof typed === 'number' ? typed : parsed ? Number(parsed[1]) : undefined;
  if (code === undefined) return undefined;
  const names = [...err.message.matchAll(/\(([A-Z0-9_]*[A-Z]{3}[A-Z0-9_]*)\)/g)];
  return { code, name: names.length > 0 ? names[names.length - 1][1] : undefined };
}

export function toEmbeddedColdStoreError(err: unknown, op: Operation): ColdStoreError {
  if (err instanceof ColdStoreError) return err;
  const ch = clickhouseErrorOf(err);
  if (ch) {
    return new ColdStoreError(`ClickHouse (embedded) ${op} failed: ${ch.name ?? 'error'} (code ${ch.code})`, ch.code, { cause: err });
  }
  return new ColdStoreError(`ClickHouse (embedded) ${op} failed: ${chdbErrorSummary(err)}`, undefined, { cause: err });
}

/**
 * Parameters as the HTTP client formats them (booleans as 1/0, numbers as text), so
 * both stores bind the same text; chDB's own formatting differs for those two.
 */
function toBindParams(params: QueryParams): Record<string, string | null> {
  const bound: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(params)) {
    if (value === null) bound[name] = null;
    else if (typeof value === 'boolean') bound[name] = value ? '1' : '0';
    else if (typeof value === 'number') {
      bound[name] = Number.isNaN(value) ? 'nan' : value === Infinity ? '+inf' : value === -Infinity ? '-inf' : String(value);
    } else bound[name] = value;
  }
  return bound;
}

const SIMPLE_NAME = /^[A-Za-z0-9_]+$/;
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function unquoteIdentifier(part: string): string | undefined {
  if (SIMPLE_NAME.test(part)) return part;
  const quoted = /^`((?:[^`\\]|\\.)*)`$/.exec(part);
  return quoted ? quoted[1].replace(/\\(.)/g, '$1') : undefined;
}

/**
 * chDB's insert API takes `db.table` and column names matching [A-Za-z0-9_]; this
 * turns a chIdent-quoted `\`db\`.\`t\`` back into that form, or says it cannot.
 */
export function plainInsertTarget(table: string, columns: readonly string[]): { table: string; columns: string[] } | undefined {
  const match = /^((?:`(?:[^`\\]|\\.)*`)|[A-Za-z0-9_]+)(?:\.((?:`(?:[^`\\]|\\.)*`)|[A-Za-z0-9_]+))?$/.exec(table.trim());
  if (!match) return undefined;
  const parts = [match[1], match[2]].filter((p): p is string => p !== undefined).map(unquoteIdentifier);
  if (parts.some((p) => p === undefined || !SIMPLE_NAME.test(p))) return undefined;
  if (columns.length === 0 || !columns.every((c) => SIMPLE_NAME.test(c))) return undefined;
  return { table: parts.join('.'), columns: [...columns] };
}

/**
 * Resolves when `out` drains or closes, leaving no listener behind: one left per wait (the
 * other event's) piled up on a long answer read by a slow consumer (MaxListenersExceeded).
 */
function drainedOrClosed(out: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

export class EmbeddedColdStore implements ColdStore {
  readonly kind = 'embedded' as const;
  readonly path: string;
  readonly database: string;
  private open: OpenEngine | undefined;
  private databaseExists: boolean;

  constructor(
    config: EmbeddedColdStoreConfig,
    private readonly logger?: ColdStoreLogger,
  ) {
    this.path = resolve(config.path);
    this.database = config.database;
    this.databaseExists = config.database === 'default';
    this.open = acquireEngine(this.path);
  }

  async ping(): Promise<void> {
    await this.run('ping', async (session) => {
      await session.queryAsync('SELECT 1', { format: 'TabSeparated' });
    });
  }

  async command(sql: string, params?: QueryParams, options: CommandOptions = {}): Promise<void> {
    await this.run('command', async (session) => {
      // In-process there is no lost response to retry; the token still makes a re-run
      // of the same insert (a crashed run repeated) a no-op, as on a server.
      if (options.dedupToken !== undefined) await session.queryAsync(`SET insert_deduplication_token = ${chLiteral(options.dedupToken)}`, { format: 'TabSeparated' });
      try {
        if (params && Object.keys(params).length > 0) await session.queryBindAsync(sql, toBindParams(params), { format: 'TabSeparated' });
        else await session.queryAsync(sql, { format: 'TabSeparated' });
      } finally {
        if (options.dedupToken !== undefined) await session.queryAsync("SET insert_deduplication_token = ''", { format: 'TabSeparated' });
      }
    });
  }

  async query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]> {
    return this.run('query', async (session) => {
      const result =
        params && Object.keys(params).length > 0
          ? await session.queryBindAsync(sql, toBindParams(params), { format: 'JSONEachRow' })
          : await session.queryAsync(sql, { format: 'JSONEachRow' });
      const rows: T[] = [];
      for (const line of result.text().split('\n')) {
        if (line !== '') rows.push(JSON.parse(line) as T);
      }
      return rows;
    });
  }

  async queryTsv(sql: string, params?: QueryParams): Promise<string> {
    return this.run('query', async (session) => {
      const result =
        params && Object.keys(params).length > 0
          ? await session.queryBindAsync(sql, toBindParams(params), { format: 'TabSeparated' })
          : await session.queryAsync(sql, { format: 'TabSeparated' });
      return result.text();
    });
  }

  async queryTsvStream(sql: string, params?: QueryParams): Promise<Readable> {
    const out = new PassThrough();
    let started!: () => void;
    const ready = new Promise<void>((resolve) => (started = resolve));
    const done = this.run('query', async (session) => {
      const stream = params && Object.keys(params).length > 0
        ? session.queryStreamBind(sql, toBindParams(params), { format: 'TabSeparated' })
        : session.queryStream(sql, { format: 'TabSeparated' });
      started();
      try {
        for await (const chunk of stream) {
          if (out.destroyed) break;
          if (!out.write(Buffer.from(chunk.raw()))) await drainedOrClosed(out);
        }
      } finally {
        stream.cancel();
      }
      out.end();
    });
    // A failure before the stream is handed out (bad SQL, a closed store) is thrown by this
    // call instead, and then nothing of the caller's listens on `out`: without a listener
    // of its own its 'error' would be an uncaught exception (the process would exit). A
    // caller reading the stream still gets the error (for await, pipeline).
    out.on('error', () => undefined);
    done.catch((err: unknown) => out.destroy(err as Error));
    // Errors before the first byte (bad SQL, closed store) reject here rather than on the stream.
    await Promise.race([ready, done]);
    return out;
  }

  async insertTsv(req: TsvInsert): Promise<void> {
    const settings: Record<string, string | number> = { ...req.settings };
    if (req.dedupToken !== undefined) settings.insert_deduplication_token = req.dedupToken;
    const target = plainInsertTarget(req.table, req.columns);
    await this.run(
      'insert',
      async (session) => {
        const data = req.data;
        if (target && !Buffer.isBuffer(data) && req.dedupToken === undefined) {
          await session.insert({ table: target.table, columns: target.columns, format: 'TabSeparated', values: data, settings });
          return;
        }
        // chDB streams a Readable as several INSERTs; with a dedup token each would
        // carry the same token and all but the first would be dropped as repeats, so a
        // deduplicated batch is read whole and inserted once.
        const payload = Buffer.isBuffer(data) ? data : await readAll(data);
        if (payload.length === 0) return;
        if (target) {
          await session.insert({ table: target.table, columns: target.columns, format: 'TabSeparated', values: payload, settings });
          return;
        }
        // Names chDB's insert API will not take: send the rows inline after the statement.
        await session.queryAsync(`${insertStatement(req.table, req.columns, settings)}\n${payload.toString('utf8')}`, {
          format: 'TabSeparated',
        });
      },
      { table: req.table, dedup: req.dedupToken !== undefined },
    );
  }

  async close(): Promise<void> {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    await open.tail;
    releaseEngine(open);
  }

  private async run<R>(op: Operation, task: (session: Session) => Promise<R>, logFields: Record<string, unknown> = {}): Promise<R> {
    const open = this.open;
    if (!open) throw new ColdStoreError(`ClickHouse (embedded) ${op} failed: the store is closed`);
    return exclusive(open, async () => {
      const started = Date.now();
      try {
        await this.useDatabase(open);
        const result = await task(open.session);
        this.logger?.debug(
          { op, store: 'embedded', durationMs: Date.now() - started, ...(Array.isArray(result) ? { rows: result.length } : {}), ...logFields },
          'cold store request done',
        );
        return result;
      } catch (err) {
        const converted = toEmbeddedColdStoreError(err, op);
        this.logger?.debug(
          { op, store: 'embedded', durationMs: Date.now() - started, clickhouseCode: converted.clickhouseCode, ...logFields },
          'cold store request failed',
        );
        throw converted;
      }
    });
  }

  private async useDatabase(open: OpenEngine): Promise<void> {
    if (!this.databaseExists) {
      const found = await open.session.queryBindAsync(
        'SELECT 1 FROM system.databases WHERE name = {db:String}',
        { db: this.database },
        { format: 'TabSeparated' },
      );
      this.databaseExists = found.text().trim() !== '';
    }
    const wanted = this.databaseExists ? this.database : 'default';
    if (open.currentDatabase !== wanted) {
      await open.session.queryAsync(`USE ${chIdent(wanted)}`, { format: 'TabSeparated' });
      open.currentDatabase = wanted;
    }
  }
}

function insertStatement(table: string, columns: readonly string[], settings: Record<string, string | number>): string {
  const assignments = Object.entries(settings).map(([name, value]) => {
    if (!SETTING_NAME.test(name)) throw new ColdStoreError(`not a ClickHouse setting name: ${JSON.stringify(name)}`);
    return `${name} = ${typeof value === 'number' ? String(value) : chLiteral(value)}`;
  });
  const settingsClause = assignments.length > 0 ? ` SETTINGS ${assignments.join(', ')}` : '';
  return `INSERT INTO ${table} (${columns.map(chIdent).join(', ')})${settingsClause} FORMAT TabSeparated`;
}
