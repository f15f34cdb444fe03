import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, GATEWAY_ERROR_CODES, MalformedBodyError, type GatewayErrorCode } from '../errors';
import { parseJsonRows } from '../http/body';
import type { TableModel } from '../model/table-model';
import type { Ingest } from '../writers/ingest';

/**
 * ClickHouse's HTTP interface, the insert half (https://clickhouse.com/docs/interfaces/http),
 * so Vector's `clickhouse` sink and ClickHouse client libraries write into TieredTables by
 * pointing at the gateway: `POST /?query=INSERT INTO [db.]table [(columns)] FORMAT <f>`
 * with the rows as the body (or the statement at the head of the body), Content-Encoding
 * undone by the gateway's body reader. The rows go through Ingest like every other
 * protocol — a hot-then-cold table's rows to PostgreSQL, a cold-only table's to
 * ClickHouse, the whole request or nothing, answered once committed.
 *
 * Taken: JSONEachRow (JSONLines, NDJSON; an array of objects too), JSONCompactEachRow,
 * JSONCompactEachRowWithNames, JSONCompactEachRowWithNamesAndTypes; `{name:Identifier}`
 * query parameters (Vector ≥ 0.50 names its table so); settings in the URL or a SETTINGS
 * clause. `input_format_skip_unknown_fields=1` drops fields that name no column; without it
 * the table's own spec.ingest.unknownFields decides (labels, addColumns or reject), as on
 * /write/*. Other input_format_* settings, native compression (`decompress=1`) and binary
 * formats are refused with a ClickHouse-style error rather than guessed at. `SELECT 1`
 * answers health checks; reads belong to the proxy.
 *
 * Errors come back as ClickHouse writes them — `Code: N. DB::Exception: … (NAME)` with
 * X-ClickHouse-Exception-Code — so clients parse them, and Vector, which retries 5xx but
 * not 4xx, retries exactly the gateway's 429/503s.
 */
export const CLICKHOUSE_DATABASES_ACCEPTED = ['default'] as const;

export interface ClickHouseHttpDeps {
  ingest: Ingest;
  /** The request body with Content-Encoding undone (the gateway's limits and slots apply). */
  body(req: FastifyRequest): Promise<Buffer>;
  /** Names a client may qualify a table with, besides `default` (the gateway's cold database). */
  databases: readonly string[];
  /** Retry-After on 429 and 503, as the other protocols send it. */
  retryAfterSeconds: number;
}

/** ClickHouse error codes (src/Common/ErrorCodes.cpp) for what the gateway answers. */
const CH = {
  BAD_ARGUMENTS: [36, 'BAD_ARGUMENTS'],
  NOT_IMPLEMENTED: [48, 'NOT_IMPLEMENTED'],
  TYPE_MISMATCH: [53, 'TYPE_MISMATCH'],
  UNKNOWN_TABLE: [60, 'UNKNOWN_TABLE'],
  SYNTAX_ERROR: [62, 'SYNTAX_ERROR'],
  UNKNOWN_FORMAT: [73, 'UNKNOWN_FORMAT'],
  UNKNOWN_DATABASE: [81, 'UNKNOWN_DATABASE'],
  INCORRECT_DATA: [117, 'INCORRECT_DATA'],
  READONLY: [164, 'READONLY'],
  TOO_MANY_SIMULTANEOUS_QUERIES: [202, 'TOO_MANY_SIMULTANEOUS_QUERIES'],
  NETWORK_ERROR: [210, 'NETWORK_ERROR'],
  TOO_MANY_BYTES: [307, 'TOO_MANY_BYTES'],
  VIOLATED_CONSTRAINT: [469, 'VIOLATED_CONSTRAINT'],
  AUTHENTICATION_FAILED: [516, 'AUTHENTICATION_FAILED'],
  STD_EXCEPTION: [1001, 'STD_EXCEPTION'],
} as const satisfies Record<string, readonly [number, string]>;
type ClickHouseCode = (typeof CH)[keyof typeof CH];

/** A refusal in this protocol's own terms: the gateway code and status, and the ClickHouse code clients see. */
export class ClickHouseRequestError extends GatewayError {
  constructor(
    readonly clickhouse: ClickHouseCode,
    statusCode: number,
    message: string,
    code: GatewayErrorCode = GATEWAY_ERROR_CODES.badRequest,
  ) {
    super(code, statusCode, message);
    this.name = 'ClickHouseRequestError';
  }
}

const BY_GATEWAY_CODE: Partial<Record<GatewayErrorCode, ClickHouseCode>> = {
  [GATEWAY_ERROR_CODES.badRequest]: CH.BAD_ARGUMENTS,
  [GATEWAY_ERROR_CODES.malformedBody]: CH.INCORRECT_DATA,
  [GATEWAY_ERROR_CODES.wrongType]: CH.TYPE_MISMATCH,
  [GATEWAY_ERROR_CODES.unknownTable]: CH.UNKNOWN_TABLE,
  [GATEWAY_ERROR_CODES.unauthorized]: CH.AUTHENTICATION_FAILED,
  [GATEWAY_ERROR_CODES.payloadTooLarge]: CH.TOO_MANY_BYTES,
  [GATEWAY_ERROR_CODES.unsupportedEncoding]: CH.BAD_ARGUMENTS,
  [GATEWAY_ERROR_CODES.unsupportedMediaType]: CH.BAD_ARGUMENTS,
  [GATEWAY_ERROR_CODES.backpressure]: CH.TOO_MANY_SIMULTANEOUS_QUERIES,
  [GATEWAY_ERROR_CODES.decompressionBusy]: CH.TOO_MANY_SIMULTANEOUS_QUERIES,
  [GATEWAY_ERROR_CODES.storeUnavailable]: CH.NETWORK_ERROR,
  [GATEWAY_ERROR_CODES.storeRejected]: CH.VIOLATED_CONSTRAINT,
};

const FORMATS = {
  jsonEachRow: ['JSONEachRow', 'JSONLines', 'NDJSON'],
  compact: ['JSONCompactEachRow'],
  compactWithNames: ['JSONCompactEachRowWithNames'],
  compactWithNamesAndTypes: ['JSONCompactEachRowWithNamesAndTypes'],
} as const;
type FormatKind = keyof typeof FORMATS;
const FORMAT_BY_NAME = new Map<string, FormatKind>(
  (Object.entries(FORMATS) as Array<[FormatKind, readonly string[]]>).flatMap(([kind, names]) => names.map((n) => [n.toLowerCase(), kind] as [string, FormatKind])),
);

/**
 * input_format_* settings that change nothing here: nested JSON objects already stay
 * objects (jsonb), omitted fields and nulls are already NULL, and the table model already
 * reads RFC 3339 text, `YYYY-MM-DD hh:mm:ss` and epoch numbers (best_effort's forms that
 * clients send). Any other input_format_* setting is refused, never silently ignored.
 */
const ACCEPTED_INPUT_SETTINGS = new Set([
  'input_format_skip_unknown_fields',
  'input_format_import_nested_json',
  'input_format_null_as_default',
  'input_format_defaults_for_omitted_fields',
  'input_format_json_read_objects_as_strings',
]);
const DATE_TIME_INPUT_FORMATS = new Set(['basic', 'best_effort']);

export interface InsertStatement {
  database?: string;
  table: string;
  columns?: string[];
  format: FormatKind;
  formatName: string;
  settings: Map<string, string>;
  /** Byte offset of the data in the text the statement was read from (for a statement at the head of the body). */
  dataOffset: number;
}

/** Reads ClickHouse SQL tokens far enough for INSERT … FORMAT and SELECT 1. */
class Lexer {
  pos = 0;
  constructor(
    readonly text: string,
    private readonly params: Map<string, string>,
  ) {}

  skipSpace(): void {
    for (;;) {
      const m = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)/.exec(this.text.slice(this.pos));
      if (!m || m[0] === '') return;
      this.pos += m[0].length;
    }
  }

  keyword(word: string): boolean {
    this.skipSpace();
    const re = new RegExp(`^${word}(?![A-Za-z0-9_])`, 'i');
    if (!re.test(this.text.slice(this.pos))) return false;
    this.pos += word.length;
    return true;
  }

  punct(c: string): boolean {
    this.skipSpace();
    if (this.text[this.pos] !== c) return false;
    this.pos++;
    return true;
  }

  identifier(): string | undefined {
    this.skipSpace();
    const rest = this.text.slice(this.pos);
    const bare = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(rest);
    if (bare) {
      this.pos += bare[0].length;
      return bare[0];
    }
    const quote = rest[0];
    if (quote === '`' || quote === '"') {
      let out = '';
      for (let i = 1; i < rest.length; i++) {
        const c = rest[i];
        if (c === '\\' && i + 1 < rest.length) out += rest[++i];
        else if (c === quote && rest[i + 1] === quote) out += rest[++i];
        else if (c === quote) {
          this.pos += i + 1;
          return out;
        } else out += c;
      }
      throw syntax('unterminated quoted identifier');
    }
    const param = /^\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*Identifier\s*\}/.exec(rest);
    if (param) {
      const value = this.params.get(param[1]);
      if (value === undefined) throw new ClickHouseRequestError(CH.BAD_ARGUMENTS, 400, `Substitution \`${param[1]}\` is not set`);
      this.pos += param[0].length;
      return value;
    }
    return undefined;
  }

  /** A setting value: a number, a quoted string or a bare word. */
  value(): string {
    this.skipSpace();
    const rest = this.text.slice(this.pos);
    const m = /^(?:'((?:[^'\\]|\\.|'')*)'|([^\s,]+))/.exec(rest);
    if (!m) throw syntax('expected a setting value');
    this.pos += m[0].length;
    return m[1] !== undefined ? m[1].replace(/''/g, "'").replace(/\\(.)/g, '$1') : m[2];
  }
}

const syntax = (why: string) => new ClickHouseRequestError(CH.SYNTAX_ERROR, 400, `Syntax error: ${why}`);

/** `SELECT 1` (with an optional FORMAT): the health checks of Vector and ClickHouse clients. */
export function isHealthCheck(query: string): boolean {
  return /^\s*SELECT\s+1\s*(?:FORMAT\s+\w+\s*)?;?\s*$/i.test(query);
}

/**
 * Parses `INSERT INTO [TABLE] [db.]table [(c, …)] [SETTINGS k = v, …] FORMAT <name>`; the
 * rows follow the format name (after one line break or whitespace) when the statement
 * heads the body. `params` holds `param_<name>` values for `{name:Identifier}`.
 */
export function parseInsert(text: string, params: Map<string, string>): InsertStatement {
  const lx = new Lexer(text, params);
  if (!lx.keyword('INSERT')) {
    lx.skipSpace();
    const word = /^\w+/.exec(text.slice(lx.pos))?.[0]?.toUpperCase() ?? 'this statement';
    throw new ClickHouseRequestError(CH.NOT_IMPLEMENTED, 400, `the Strata gateway takes INSERT … FORMAT only, not ${word}; read through the Strata proxy (PostgreSQL protocol)`);
  }
  if (!lx.keyword('INTO')) throw syntax('expected INTO after INSERT');
  if (lx.keyword('FUNCTION')) throw new ClickHouseRequestError(CH.NOT_IMPLEMENTED, 400, 'INSERT INTO FUNCTION is not taken by the Strata gateway');
  lx.keyword('TABLE');
  const first = lx.identifier();
  if (first === undefined) throw syntax('expected a table name after INSERT INTO');
  let database: string | undefined;
  let table = first;
  if (lx.punct('.')) {
    const second = lx.identifier();
    if (second === undefined) throw syntax('expected a table name after the database name');
    database = first;
    table = second;
  }
  let columns: string[] | undefined;
  if (lx.punct('(')) {
    columns = [];
    do {
      const c = lx.identifier();
      if (c === undefined) throw new ClickHouseRequestError(CH.NOT_IMPLEMENTED, 400, 'the column list of an INSERT must name columns (no * or EXCEPT) at the Strata gateway');
      columns.push(c);
    } while (lx.punct(','));
    if (!lx.punct(')')) throw syntax('expected ) after the column list');
  }
  const settings = new Map<string, string>();
  if (lx.keyword('SETTINGS')) {
    do {
      const k = lx.identifier();
      if (k === undefined || !lx.punct('=')) throw syntax('expected name = value in SETTINGS');
      settings.set(k, lx.value());
    } while (lx.punct(','));
  }
  if (lx.keyword('VALUES')) throw new ClickHouseRequestError(CH.UNKNOWN_FORMAT, 400, 'INSERT … VALUES is not taken by the Strata gateway: send FORMAT JSONEachRow (or JSONCompactEachRow)');
  if (lx.keyword('SELECT')) throw new ClickHouseRequestError(CH.NOT_IMPLEMENTED, 400, 'INSERT … SELECT is not taken by the Strata gateway');
  if (!lx.keyword('FORMAT')) throw syntax('expected FORMAT <name> (the Strata gateway takes rows in a format)');
  lx.skipSpace();
  const name = /^\w+/.exec(text.slice(lx.pos))?.[0];
  if (!name) throw syntax('expected a format name after FORMAT');
  lx.pos += name.length;
  const format = FORMAT_BY_NAME.get(name.toLowerCase());
  if (!format) {
    throw new ClickHouseRequestError(CH.UNKNOWN_FORMAT, 400, `format ${name} is not taken by the Strata gateway (JSONEachRow, JSONCompactEachRow, JSONCompactEachRowWithNames, JSONCompactEachRowWithNamesAndTypes)`);
  }
  // The data begins after the format name: one line break, or whitespace (ClickHouse's rule for inline data).
  const after = /^[ \t]*(?:\r?\n)?/.exec(text.slice(lx.pos))![0];
  return { database, table, columns, format, formatName: name, settings, dataOffset: Buffer.byteLength(text.slice(0, lx.pos + after.length), 'utf8') };
}

/** Settings from the URL and the statement (the statement's win, as in ClickHouse), checked. */
function checkSettings(settings: Map<string, string>): { skipUnknown: boolean } {
  for (const [k, v] of settings) {
    if (k === 'date_time_input_format' && !DATE_TIME_INPUT_FORMATS.has(v)) {
      throw new ClickHouseRequestError(CH.NOT_IMPLEMENTED, 400, `date_time_input_format=${v} is not taken by the Strata gateway (basic, best_effort)`);
    }
    if (k.startsWith('input_format_') && !ACCEPTED_INPUT_SETTINGS.has(k)) {
      throw new ClickHouseRequestError(CH.NOT_IMPLEMENTED, 400, `setting ${k} is not taken by the Strata gateway`);
    }
  }
  const skip = settings.get('input_format_skip_unknown_fields');
  return { skipUnknown: skip === '1' || skip?.toLowerCase() === 'true' };
}

/** URL parameters that are not settings (ClickHouse's HTTP handler reads them itself). */
const NOT_SETTINGS = new Set(['query', 'database', 'default_format', 'query_id', 'session_id', 'session_timeout', 'session_check', 'user', 'password', 'quota_key', 'role', 'compress', 'decompress', 'buffer_size', 'wait_end_of_query', 'stacktrace']);

/** JSONEachRow takes one object per line, and an array of objects too: the content type that frames it. */
function jsonEachRowType(data: Buffer): string {
  let i = 0;
  while (i < data.length && (data[i] === 0x20 || data[i] === 0x09 || data[i] === 0x0a || data[i] === 0x0d)) i++;
  return data[i] === 0x5b ? 'application/json' : 'application/x-ndjson';
}

function rowsOf(kind: FormatKind, data: Buffer, table: TableModel, listed: string[] | undefined): Array<Record<string, unknown>> {
  if (kind === 'jsonEachRow') return parseJsonRows(data, jsonEachRowType(data));
  const lines = data.toString('utf8').split('\n').filter((l) => l.trim() !== '');
  const parsed = lines.map((line, i) => {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new MalformedBodyError(`malformed JSON on line ${i + 1} of ${kind === 'compact' ? 'JSONCompactEachRow' : 'the body'}`, { cause: err });
    }
    if (!Array.isArray(v)) throw new MalformedBodyError(`line ${i + 1}: expected a JSON array of values`);
    return v as unknown[];
  });
  let names = listed ?? table.spec.columns.map((c) => c.name);
  if (kind !== 'compact') {
    const header = parsed.shift();
    if (!header || !header.every((n) => typeof n === 'string')) throw new MalformedBodyError('the first line must be the column names');
    names = header as string[];
    if (kind === 'compactWithNamesAndTypes' && !parsed.shift()) throw new MalformedBodyError('the second line must be the column types');
  }
  return parsed.map((values, i) => {
    if (values.length !== names.length) throw new MalformedBodyError(`row ${i + 1}: ${values.length} values for ${names.length} columns`);
    const row: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) row[names[c]] = values[c];
    return row;
  });
}

/** Keeps the fields that name a column (of the INSERT's list, when it has one). */
function dropUnknown(rows: Array<Record<string, unknown>>, keep: Set<string>): Array<Record<string, unknown>> {
  return rows.map((r) => {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(r)) if (keep.has(k)) out[k] = r[k];
    return out;
  });
}

function unknownFieldCheck(rows: Array<Record<string, unknown>>, listed: Set<string>, formatName: string): void {
  for (let i = 0; i < rows.length; i++) {
    for (const k of Object.keys(rows[i])) {
      if (!listed.has(k)) throw new ClickHouseRequestError(CH.INCORRECT_DATA, 400, `Unknown field found while parsing ${formatName} format: ${k}: (at row ${i + 1}); set input_format_skip_unknown_fields=1 to skip it`, GATEWAY_ERROR_CODES.wrongType);
    }
  }
}

/**
 * The Authorization a ClickHouse client's credentials amount to, for the gateway's token
 * check: X-ClickHouse-Key (or the `password` URL parameter) is the token. Basic auth is
 * already understood (token as the password).
 */
export function clickhouseAuthorization(headers: Record<string, unknown>, query: unknown): string | undefined {
  const key = headers['x-clickhouse-key'];
  if (typeof key === 'string' && key !== '') return `Bearer ${key}`;
  const password = (query as Record<string, unknown> | undefined)?.password;
  if (typeof password === 'string' && password !== '') return `Bearer ${password}`;
  return undefined;
}

function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown, retryAfterSeconds: number): FastifyReply {
  let status = 500;
  let ch: ClickHouseCode = CH.STD_EXCEPTION;
  let message = 'internal error';
  if (err instanceof ClickHouseRequestError) {
    status = err.statusCode;
    ch = err.clickhouse;
    message = err.message;
  } else if (err instanceof GatewayError) {
    status = err.statusCode;
    ch = BY_GATEWAY_CODE[err.code] ?? CH.STD_EXCEPTION;
    message = err.message;
  }
  if (status === 429 || status === 503) reply.header('Retry-After', String(retryAfterSeconds));
  if (status >= 500) {
    const e = err as { name?: string; code?: unknown };
    req.log.error({ req: req.id, route: '/', err: { name: e?.name, code: e?.code } }, 'request failed');
  } else {
    req.log.info({ req: req.id, route: '/', status, code: ch[1] }, 'request refused');
  }
  return reply
    .status(status)
    .header('X-ClickHouse-Exception-Code', String(ch[0]))
    .type('text/plain; charset=UTF-8')
    .send(`Code: ${ch[0]}. DB::Exception: ${message}. (${ch[1]})\n`);
}

export function registerClickHouseHttp(app: FastifyInstance, d: ClickHouseHttpDeps): void {
  const databases = new Set<string>([...CLICKHOUSE_DATABASES_ACCEPTED, ...d.databases]);

  app.get('/ping', async (_req, reply) => reply.type('text/plain; charset=UTF-8').send('Ok.\n'));

  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const q = req.query as Record<string, string | string[] | undefined>;
    const one = (k: string) => (Array.isArray(q[k]) ? (q[k] as string[])[0] : (q[k] as string | undefined));
    // Echoed as ClickHouse does; a client's id that is no plain token is replaced (it goes into a header).
    const given = one('query_id');
    reply.header('X-ClickHouse-Query-Id', given !== undefined && /^[\w.:-]{1,128}$/.test(given) ? given : req.id);
    try {
      const urlQuery = one('query');
      if (req.method === 'GET') {
        if (urlQuery === undefined) return reply.type('text/plain; charset=UTF-8').send('Ok.\n');
        if (isHealthCheck(urlQuery)) return reply.type('text/tab-separated-values; charset=UTF-8').send('1\n');
        throw new ClickHouseRequestError(CH.READONLY, 400, 'a GET request cannot insert (use POST); reads belong to the Strata proxy');
      }
      if (one('decompress') === '1') throw new ClickHouseRequestError(CH.NOT_IMPLEMENTED, 400, "ClickHouse's native compression (decompress=1) is not taken by the Strata gateway: send Content-Encoding gzip or zstd");
      const body = await d.body(req);
      const params = new Map<string, string>();
      const settings = new Map<string, string>();
      for (const [k, v] of Object.entries(q)) {
        const value = Array.isArray(v) ? v[0] : v;
        if (value === undefined) continue;
        if (k.startsWith('param_')) params.set(k.slice('param_'.length), value);
        else if (!NOT_SETTINGS.has(k)) settings.set(k, value);
      }
      // The statement is the `query` parameter, or heads the body (then the rows follow it).
      let statement: InsertStatement;
      let data: Buffer;
      if (urlQuery !== undefined && urlQuery.trim() !== '') {
        if (isHealthCheck(urlQuery) && body.length === 0) return reply.type('text/tab-separated-values; charset=UTF-8').send('1\n');
        statement = parseInsert(urlQuery, params);
        data = body;
      } else {
        const head = body.subarray(0, 64 * 1024).toString('utf8');
        if (isHealthCheck(head)) return reply.type('text/tab-separated-values; charset=UTF-8').send('1\n');
        statement = parseInsert(head, params);
        data = body.subarray(statement.dataOffset);
      }
      for (const [k, v] of statement.settings) settings.set(k, v);
      const { skipUnknown } = checkSettings(settings);
      const database = statement.database ?? one('database') ?? 'default';
      if (!databases.has(database)) {
        throw new ClickHouseRequestError(CH.UNKNOWN_DATABASE, 404, `Database ${database} does not exist: the Strata gateway writes TieredTables, qualified by ${[...databases].join(' or ')} or not at all`);
      }
      const table = await d.ingest.catalog.get(statement.table);
      const columnNames = new Set(table.spec.columns.map((c) => c.name));
      for (const c of statement.columns ?? []) {
        if (!columnNames.has(c)) throw new ClickHouseRequestError(CH.INCORRECT_DATA, 400, `No such column ${c} in table ${statement.table}`, GATEWAY_ERROR_CODES.wrongType);
      }
      const listed = statement.columns ? new Set(statement.columns) : undefined;
      let written: number;
      if (statement.format === 'jsonEachRow' && !skipUnknown && !listed) {
        // Plain JSONEachRow is /write/*'s body: the same path, its COPY-text hot path included.
        written = await d.ingest.writeJsonBody('clickhouse-http', statement.table, data, jsonEachRowType(data));
      } else {
        let rows = rowsOf(statement.format, data, table, statement.columns);
        if (skipUnknown) rows = dropUnknown(rows, listed ?? columnNames);
        else if (listed) unknownFieldCheck(rows, listed, statement.formatName);
        written = await d.ingest.writeRows('clickhouse-http', statement.table, rows);
      }
      const n = String(written);
      const bytes = String(data.length);
      reply.header(
        'X-ClickHouse-Summary',
        JSON.stringify({ read_rows: '0', read_bytes: '0', written_rows: n, written_bytes: bytes, total_rows_to_read: '0', result_rows: n, result_bytes: bytes }),
      );
      return reply.type('text/plain; charset=UTF-8').send('');
    } catch (err) {
      return sendError(req, reply, err, d.retryAfterSeconds);
    }
  };
  app.get('/', handle);
  app.post('/', handle);
}
