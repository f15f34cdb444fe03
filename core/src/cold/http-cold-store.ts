import { PassThrough, Readable, pipeline } from 'node:stream';
import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { chIdent } from '../ddl/sql';
import { PlainReads, READ_TIMEOUT_MESSAGE } from './plain-read';
import { ColdStoreError, type ColdStore, type CommandOptions, type QueryParams, type TsvInsert } from './cold-store';

/** The cold tier over a ClickHouse server's HTTP interface (production). */
export interface HttpColdStoreConfig {
  /** `http(s)://host:port`; credentials in the URL are moved to username/password. */
  url: string;
  username?: string;
  password?: string;
  /**
   * Current database for unqualified names, once it exists. ClickHouse rejects every
   * request naming a missing database, so until it exists (e.g. before provisioning
   * runs `CREATE DATABASE`) requests go without it and resolve in `default`.
   */
  database: string;
  requestTimeoutMs?: number;
  /** Gzip request bodies and ask for gzip responses. Default true. */
  compression?: boolean;
  /**
   * Gzip the proxy's reads too (queryTsvStream: its cold answers; queryTsv: its counts and
   * measures), through @clickhouse/client; plain ones are sent by hand (plain-read.ts). Default
   * false: most are small (a top-N, partial groups), and gzip is the larger part of a small
   * request's cost in the proxy — measured against the chDB endpoint, 1.5 ms of the
   * client's CPU per request plain vs 3.1–4.1 ms gzipped both ways (issue 14, item 5).
   * Turn it on where ClickHouse is across a slow link and large raw reads dominate.
   */
  compressStreamedReads?: boolean;
  /** Retries of transient network failures (see `isTransientNetworkError`). Default 3. */
  maxRetries?: number;
}

/** Every field defaulted; the password is kept out of everything that gets printed. */
export interface ResolvedHttpColdStoreConfig {
  url: string;
  /** The URL without credentials, path or query: safe for messages and logs. */
  displayUrl: string;
  username: string;
  password: string;
  database: string;
  requestTimeoutMs: number;
  compression: boolean;
  compressStreamedReads: boolean;
  maxRetries: number;
}

/** The part of a pino logger the cold stores use. Never given SQL, parameters or secrets. */
export interface ColdStoreLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
}

export const HTTP_COLD_STORE_DEFAULTS = {
  username: 'default',
  password: '',
  requestTimeoutMs: 30_000,
  compression: true,
  compressStreamedReads: false,
  maxRetries: 3,
} as const;

const RETRY_BASE_DELAY_MS = 100;
const RETRY_MAX_DELAY_MS = 2_000;

/** Connection-phase failures: nothing reached the server. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** The connection broke while a request was in flight: the server may have acted on it. */
const CONNECTION_LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

export function resolveHttpColdStoreConfig(config: HttpColdStoreConfig): ResolvedHttpColdStoreConfig {
  let parsed: URL;
  try {
    parsed = new URL(config.url);
  } catch {
    throw new ColdStoreError('cold store url is not a valid URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ColdStoreError(`cold store url must be http:// or https://, got ${parsed.protocol}//`);
  }
  const urlUser = decodeURIComponent(parsed.username);
  const urlPassword = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const maxRetries = config.maxRetries ?? HTTP_COLD_STORE_DEFAULTS.maxRetries;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new ColdStoreError(`cold store maxRetries must be a non-negative integer, got ${maxRetries}`);
  }
  const requestTimeoutMs = config.requestTimeoutMs ?? HTTP_COLD_STORE_DEFAULTS.requestTimeoutMs;
  if (!Number.isFinite(requestTimeoutMs) || requestTimeoutMs <= 0) {
    throw new ColdStoreError(`cold store requestTimeoutMs must be positive, got ${requestTimeoutMs}`);
  }
  return {
    url: parsed.toString(),
    displayUrl: parsed.origin,
    username: config.username ?? (urlUser || HTTP_COLD_STORE_DEFAULTS.username),
    password: config.password ?? (urlPassword || HTTP_COLD_STORE_DEFAULTS.password),
    database: config.database,
    requestTimeoutMs,
    compression: config.compression ?? HTTP_COLD_STORE_DEFAULTS.compression,
    compressStreamedReads: config.compressStreamedReads ?? HTTP_COLD_STORE_DEFAULTS.compressStreamedReads,
    maxRetries,
  };
}

type NetworkFailure = 'unreachable' | 'connection-lost' | 'timeout';

/**
 * Error-shaped, from any realm: Node's socket errors are not `instanceof Error` inside
 * a vm context such as a jest test.
 */
function isErrorLike(err: unknown): err is Error {
  return typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string';
}

/** Classifies transport failures; undefined for everything else (ClickHouse errors included). */
export function networkFailureOf(err: unknown): NetworkFailure | undefined {
  if (!isErrorLike(err) || err instanceof ClickHouseError) return undefined;
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return 'unreachable';
  if (code !== undefined && CONNECTION_LOST_CODES.has(code)) return 'connection-lost';
  if (err.message === 'socket hang up') return 'connection-lost';
  if (err.message === READ_TIMEOUT_MESSAGE) return 'timeout';
  return undefined;
}

export function isTransientNetworkError(err: unknown): boolean {
  return networkFailureOf(err) !== undefined;
}

/** Exponential backoff with jitter: attempt 1 waits ~base, doubling up to the cap. */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RETRY_MAX_DELAY_MS, RETRY_BASE_DELAY_MS * 2 ** (attempt - 1));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

type Operation = 'ping' | 'query' | 'command' | 'insert';

function errorDetail(err: Error): string {
  if (err.message) return err.message;
  // Node's happy-eyeballs connect rejects with an AggregateError with an empty message.
  const inner = (err as Partial<AggregateError>).errors;
  if (Array.isArray(inner) && inner.length > 0) {
    return inner.map((e: unknown) => (isErrorLike(e) ? e.message : String(e))).join('; ');
  }
  return (err as NodeJS.ErrnoException).code ?? err.name;
}

/**
 * One ColdStoreError per failure. ClickHouse's own exception text can quote the
 * statement (and parameter values it failed to parse), so the message carries only
 * the exception name and code; the text stays on `cause` for debugging.
 */
export function toColdStoreError(
  err: unknown,
  op: Operation,
  config: Pick<ResolvedHttpColdStoreConfig, 'displayUrl' | 'requestTimeoutMs'>,
  notRetried?: string,
): ColdStoreError {
  if (err instanceof ColdStoreError) return err;
  const suffix = notRetried ? ` (${notRetried})` : '';
  if (err instanceof ClickHouseError) {
    const code = Number(err.code);
    return new ColdStoreError(
      `ClickHouse ${op} failed: ${err.type ?? 'error'} (code ${err.code})`,
      Number.isFinite(code) ? code : undefined,
      { cause: err },
    );
  }
  if (!isErrorLike(err)) {
    return new ColdStoreError(`ClickHouse ${op} failed: ${String(err)}`, undefined, { cause: err });
  }
  switch (networkFailureOf(err)) {
    case 'unreachable':
      return new ColdStoreError(`ClickHouse at ${config.displayUrl} is unreachable: ${errorDetail(err)}`, undefined, { cause: err });
    case 'connection-lost':
      return new ColdStoreError(
        `connection to ClickHouse at ${config.displayUrl} was lost during ${op}: ${errorDetail(err)}${suffix}`,
        undefined,
        { cause: err },
      );
    case 'timeout':
      return new ColdStoreError(
        `ClickHouse at ${config.displayUrl} did not answer the ${op} within ${config.requestTimeoutMs} ms${suffix}`,
        undefined,
        { cause: err },
      );
    default:
      // e.g. a proxy's HTML error page: say what happened without echoing a whole body.
      return new ColdStoreError(`ClickHouse ${op} failed: ${errorDetail(err).slice(0, 200)}`, undefined, { cause: err });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A byte stream the client can send as TabSeparated, whatever mode the caller's stream is in. */
function asByteStream(data: Readable): Readable {
  if (!data.readableObjectMode) return data;
  const bytes = new PassThrough();
  pipeline(data, bytes, () => undefined);
  return bytes;
}

export class HttpColdStore implements ColdStore {
  readonly kind = 'http' as const;
  private readonly config: ResolvedHttpColdStoreConfig;
  private readonly client: ClickHouseClient;
  /** For inserts sent without gzip (TsvInsert.compress = false) when the store compresses: made on first use. */
  private plainInserts?: ClickHouseClient;
  /** For reads unless they are gzipped (`compressStreamedReads`): made on first use. */
  private plainReads?: PlainReads;
  private databaseExists: boolean;

  constructor(
    config: HttpColdStoreConfig,
    private readonly logger?: ColdStoreLogger,
  ) {
    this.config = resolveHttpColdStoreConfig(config);
    this.client = this.newClient(this.config.compression);
    this.databaseExists = this.config.database === 'default';
  }

  private newClient(compressRequests: boolean): ClickHouseClient {
    return createClient({
      url: this.config.url,
      username: this.config.username,
      password: this.config.password,
      request_timeout: this.config.requestTimeoutMs,
      compression: { request: compressRequests, response: this.config.compression },
      application: 'strata',
      // The client's own logger prints failed requests' settings to the console;
      // failures reach the caller as ColdStoreError and our logger instead.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  private insertClient(compress: boolean | undefined): ClickHouseClient {
    if (compress !== false || !this.config.compression) return this.client;
    this.plainInserts ??= this.newClient(false);
    return this.plainInserts;
  }

  async ping(): Promise<void> {
    await this.withRetries('ping', true, async () => {
      const rs = await this.client.query({ query: 'SELECT 1', format: 'JSONEachRow', http_headers: await this.databaseHeader() });
      await rs.json();
      return 1;
    });
  }

  async command(sql: string, params?: QueryParams, options: CommandOptions = {}): Promise<void> {
    const retryable = options.idempotent === true || options.dedupToken !== undefined;
    const clickhouse_settings = options.dedupToken !== undefined ? { insert_deduplication_token: options.dedupToken } : undefined;
    await this.withRetries(
      'command',
      retryable,
      async () => {
        await this.client.command({ query: sql, query_params: params, clickhouse_settings, http_headers: await this.databaseHeader() });
        return undefined;
      },
      {},
      'not retried: the statement is not marked idempotent and has no dedupToken',
    );
  }

  async query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]> {
    return this.withRetries('query', true, async () => {
      const rs = await this.client.query({ query: sql, query_params: params, format: 'JSONEachRow', http_headers: await this.databaseHeader() });
      return rs.json<T>();
    });
  }

  /** The proxy's small reads on a statement's path (counts, measures, part listings): sent as its streamed reads are. */
  async queryTsv(sql: string, params?: QueryParams): Promise<string> {
    return this.withRetries('query', true, async () => {
      const plain = this.plainRead();
      if (plain) return plain.readText(`${sql}\nFORMAT TabSeparated`, params, await this.databaseHeader());
      const rs = await this.client.query({ query: sql, query_params: params, format: 'TabSeparated', http_headers: await this.databaseHeader() });
      return rs.text();
    });
  }

  async queryTsvStream(sql: string, params?: QueryParams): Promise<Readable> {
    // Not retried once bytes flow: a retry would repeat rows the consumer already has.
    return this.withRetries('query', true, async () => {
      const query = `${sql}\nFORMAT TabSeparated`;
      const plain = this.plainRead();
      if (plain) return plain.read(query, params, await this.databaseHeader());
      const r = await this.client.exec({ query, query_params: params, http_headers: await this.databaseHeader() });
      return r.stream;
    });
  }

  /** Reads go by hand (plain-read.ts: the client's fixed cost per request) unless they are gzipped, which the client does. */
  private plainRead(): PlainReads | undefined {
    if (this.config.compressStreamedReads && this.config.compression) return undefined;
    this.plainReads ??= new PlainReads(this.config);
    return this.plainReads;
  }

  async insertTsv(req: TsvInsert): Promise<void> {
    const settings: Record<string, string | number> = { ...req.settings };
    if (req.dedupToken !== undefined) settings.insert_deduplication_token = req.dedupToken;
    const data = req.data;
    // A Buffer can be sent again, and with the same token ClickHouse drops the
    // repeat, so a retry after a lost response cannot double-insert. A stream is
    // consumed by the first attempt; without a token a repeat could duplicate rows.
    const retryable = Buffer.isBuffer(data) && req.dedupToken !== undefined;
    const notRetried = retryable ? undefined : Buffer.isBuffer(data) ? 'not retried: no dedupToken' : 'not retried: a stream cannot be re-sent';
    await this.withRetries(
      'insert',
      retryable,
      async () => {
        await this.insertClient(req.compress).insert({
          table: req.table,
          columns: req.columns.map(chIdent) as [string, ...string[]],
          format: 'TabSeparated',
          values: Buffer.isBuffer(data) ? Readable.from([data], { objectMode: false }) : asByteStream(data),
          clickhouse_settings: settings,
          http_headers: await this.databaseHeader(),
        });
        return undefined;
      },
      { table: req.table, dedup: req.dedupToken !== undefined },
      notRetried,
    );
  }

  async close(): Promise<void> {
    this.plainReads?.close();
    await Promise.all([this.client.close(), this.plainInserts?.close()]);
  }

  /** Names the configured database on requests once it exists (checked until it does). */
  private async databaseHeader(): Promise<Record<string, string> | undefined> {
    if (!this.databaseExists) {
      const rs = await this.client.query({
        query: 'SELECT 1 FROM system.databases WHERE name = {db:String}',
        query_params: { db: this.config.database },
        format: 'JSONEachRow',
      });
      this.databaseExists = (await rs.json()).length > 0;
    }
    return this.databaseExists ? { 'X-ClickHouse-Database': this.config.database } : undefined;
  }

  private async withRetries<R>(
    op: Operation,
    retryable: boolean,
    attempt: () => Promise<R>,
    logFields: Record<string, unknown> = {},
    notRetried?: string,
  ): Promise<R> {
    const maxAttempts = retryable ? this.config.maxRetries + 1 : 1;
    for (let n = 1; ; n++) {
      const started = Date.now();
      try {
        const result = await attempt();
        this.logger?.debug(
          { op, store: 'http', attempt: n, durationMs: Date.now() - started, ...(Array.isArray(result) ? { rows: result.length } : {}), ...logFields },
          'cold store request done',
        );
        return result;
      } catch (err) {
        const failure = networkFailureOf(err);
        const clickhouseCode = err instanceof ClickHouseError ? Number(err.code) : undefined;
        this.logger?.debug(
          {
            op,
            store: 'http',
            attempt: n,
            durationMs: Date.now() - started,
            ...(failure ? { network: failure, errno: (err as NodeJS.ErrnoException).code } : {}),
            ...(clickhouseCode !== undefined ? { clickhouseCode } : {}),
            ...logFields,
          },
          'cold store request failed',
        );
        if (failure === undefined || n >= maxAttempts) {
          throw toColdStoreError(err, op, this.config, failure !== undefined && !retryable ? notRetried : undefined);
        }
        const delayMs = retryDelayMs(n);
        this.logger?.debug({ op, store: 'http', attempt: n, delayMs, ...logFields }, 'retrying cold store request');
        await sleep(delayMs);
      }
    }
  }
}
