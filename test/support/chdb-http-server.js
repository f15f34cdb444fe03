#!/usr/bin/env node
// Test bed only: a ClickHouse-HTTP-compatible endpoint over the real ClickHouse
// engine (chDB, ClickHouse 26.x as a library), so the production `HttpColdStore`
// and `@clickhouse/client` run against real ClickHouse SQL, types, MergeTree
// storage, deduplication and error codes in CI. A ClickHouse server is not
// installable on the test machines (see shared/TESTBED.md).
//
//   node test/support/chdb-http-server.js --path DIR [--port P] [--user U --password P]
//                                         [--watch-stdin]
//
// Prints `listening <port>` on stdout once requests are served (port 0 picks a free
// one). SIGTERM/SIGINT finish the request in flight, close the chDB session and exit.
// With --watch-stdin the endpoint also exits when its stdin closes, so a test runner
// that dies does not leave it behind.
//
// What it serves (the subset of ClickHouse's HTTP interface the client uses):
//   GET /ping, GET /          -> "Ok.\n"
//   GET|POST /?query=...      -> the query text is the `query` parameter followed by the
//                                body; `INSERT ... FORMAT X` + body sends the body as the
//                                insert data (raw bytes, through chDB's raw insert path)
//   param_<name>=...          -> {name:Type} query parameters, bound by the engine
//   database= (or X-ClickHouse-Database), default_format=, query_id=, enable_http_compression=1 (gzip/deflate/br
//   responses per Accept-Encoding), Content-Encoding: gzip|deflate|br request bodies;
//   every other URL parameter is a ClickHouse setting for that request only.
//   Responses carry X-ClickHouse-Query-Id, X-ClickHouse-Format, X-ClickHouse-Summary;
//   errors carry X-ClickHouse-Exception-Code, ClickHouse's "Code: N. DB::Exception: ..."
//   text and the HTTP status ClickHouse's server picks for that error class.
//
// What it is NOT: ClickHouse's server. It runs none of the native TCP protocol
// (clickhouse-client, port 9000), interserver/replication, ClickHouse Keeper or
// ZooKeeper (so no Replicated* engines, no ON CLUSTER / distributed DDL), users,
// roles, grants, quotas or profiles beyond the one optional user/password given on the
// command line, HTTP sessions (session_id), readonly enforcement for GET, progress
// headers, native-block compression (compress=1/decompress=1), multipart parameters,
// or concurrent query execution: requests run one at a time on one chDB session.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const zlib = require('node:zlib');
const { promisify } = require('node:util');
const { Session } = require('chdb');

// chDB's public bind API takes JS values and escapes strings itself, but an HTTP
// client sends `param_<name>` already in ClickHouse's escaped text form (e.g. the
// array `['it\'s']`); escaping again would change the value. The addon's connection
// calls take the parameter text as-is (exactly what the server's HTTP handler hands
// the engine) and take raw insert bytes with any INSERT prefix, so this endpoint uses
// them. They are chDB internals, pinned by package-lock; checked at startup.
function loadChdbNative() {
  const loaderPath = path.join(path.dirname(require.resolve('chdb')), 'dist', 'loader.js');
  const native = require(loaderPath).loadNative();
  for (const fn of ['QueryAsyncConnection', 'InsertRawAsyncConnection']) {
    if (typeof native[fn] !== 'function') {
      throw new Error(`chdb's native addon has no ${fn}(); this endpoint needs updating for this chdb version`);
    }
  }
  return native;
}

const ERROR_CODES = {
  SYNTAX_ERROR: 62,
  NOT_IMPLEMENTED: 48,
  UNKNOWN_SETTING: 115,
  UNKNOWN_COMPRESSION_METHOD: 89,
  CANNOT_DECOMPRESS: 271,
  AUTHENTICATION_FAILED: 516,
  STD_EXCEPTION: 1001,
};

// ClickHouse's own mapping (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp), by name.
const HTTP_STATUS_BY_ERROR = new Map([
  ...['REQUIRED_PASSWORD'].map((n) => [n, 401]),
  ...['UNKNOWN_USER', 'WRONG_PASSWORD', 'AUTHENTICATION_FAILED', 'SET_NON_GRANTED_ROLE', 'ACCESS_DENIED'].map((n) => [n, 403]),
  ...[
    'BAD_ARGUMENTS', 'CANNOT_COMPILE_REGEXP', 'CANNOT_PARSE_TEXT', 'CANNOT_PARSE_ESCAPE_SEQUENCE',
    'CANNOT_PARSE_QUOTED_STRING', 'CANNOT_PARSE_DATE', 'CANNOT_PARSE_DATETIME', 'CANNOT_PARSE_NUMBER',
    'CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING', 'CANNOT_PARSE_IPV4', 'CANNOT_PARSE_IPV6',
    'CANNOT_PARSE_INPUT_ASSERTION_FAILED', 'CANNOT_PARSE_UUID', 'DUPLICATE_COLUMN', 'ILLEGAL_COLUMN',
    'UNKNOWN_ELEMENT_IN_AST', 'UNKNOWN_TYPE_OF_AST_NODE', 'THERE_IS_NO_COLUMN', 'TOO_DEEP_AST', 'TOO_BIG_AST',
    'UNEXPECTED_AST_STRUCTURE', 'SYNTAX_ERROR', 'INCORRECT_DATA', 'TYPE_MISMATCH',
    'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
  ].map((n) => [n, 400]),
  ...[
    'UNKNOWN_TABLE', 'UNKNOWN_FUNCTION', 'UNKNOWN_IDENTIFIER', 'UNKNOWN_TYPE', 'UNKNOWN_STORAGE',
    'UNKNOWN_DATABASE', 'UNKNOWN_SETTING', 'UNKNOWN_DIRECTION_OF_SORTING', 'UNKNOWN_AGGREGATE_FUNCTION',
    'UNKNOWN_FORMAT', 'UNKNOWN_DATABASE_ENGINE', 'UNKNOWN_TYPE_OF_QUERY', 'UNKNOWN_ROLE',
  ].map((n) => [n, 404]),
  ['QUERY_IS_TOO_LARGE', 413],
  ['NOT_IMPLEMENTED', 501],
  ['SOCKET_TIMEOUT', 503],
  ['CANNOT_OPEN_FILE', 503],
  ['CANNOT_SCHEDULE_TASK', 503],
  ['HTTP_LENGTH_REQUIRED', 411],
  ['TIMEOUT_EXCEEDED', 408],
  ['UNSUPPORTED_MEDIA_TYPE', 415],
]);

// URL parameters the HTTP layer consumes; every other one is a setting.
const HTTP_PARAMETERS = new Set([
  'query', 'query_id', 'database', 'default_format', 'user', 'password', 'quota_key',
  'wait_end_of_query', 'buffer_size', 'role', 'enable_http_compression',
  'http_zlib_compression_level', 'send_progress_in_http_headers',
  'http_headers_progress_interval_ms', 'add_http_cors_header',
  'cancel_http_readonly_queries_on_client_close', 'http_response_buffer_size',
]);
// Accepted by ClickHouse's server but not emulated here: fail loudly rather than
// silently ignore them.
const UNSUPPORTED_PARAMETERS = new Map([
  ['session_id', 'HTTP sessions (session_id)'],
  ['session_timeout', 'HTTP sessions (session_timeout)'],
  ['session_check', 'HTTP sessions (session_check)'],
  ['compress', 'native-block compression (compress=1)'],
  ['decompress', 'native-block compression (decompress=1)'],
  // Once set on the shared session it could not be reset for the next request.
  ['readonly', 'the readonly setting'],
]);
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const CONTENT_TYPES = {
  JSONEachRow: 'application/x-ndjson; charset=UTF-8',
  JSON: 'application/json; charset=UTF-8',
  JSONCompact: 'application/json; charset=UTF-8',
  TabSeparated: 'text/tab-separated-values; charset=UTF-8',
  TSV: 'text/tab-separated-values; charset=UTF-8',
  CSV: 'text/csv; charset=UTF-8; header=absent',
};

class EndpointError extends Error {
  constructor(name, message, status) {
    super(`Code: ${ERROR_CODES[name]}. DB::Exception: ${message}. (${name})`);
    this.clickhouseCode = ERROR_CODES[name];
    this.status = status;
  }
}

function parseArgs(argv) {
  const args = { port: 0, path: undefined, user: undefined, password: undefined, watchStdin: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--watch-stdin') {
      args.watchStdin = true;
      continue;
    }
    if (value === undefined) throw new Error(`missing value for ${flag}`);
    if (flag === '--port') args.port = Number(value);
    else if (flag === '--path') args.path = value;
    else if (flag === '--user') args.user = value;
    else if (flag === '--password') args.password = value;
    else throw new Error(`unknown argument: ${flag}`);
    i++;
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) {
    throw new Error(`--port must be an integer in 0..65535, got ${args.port}`);
  }
  if (!args.path) throw new Error('--path DIR (the chDB data directory) is required');
  if (args.password !== undefined && args.user === undefined) throw new Error('--password needs --user');
  return args;
}

/** Runs engine work one request at a time: per-request settings live on the one session. */
function createSerialQueue() {
  let tail = Promise.resolve();
  return {
    run(task) {
      const result = tail.then(task);
      tail = result.then(
        () => undefined,
        () => undefined,
      );
      return result;
    },
    drained() {
      return tail;
    },
  };
}

function chIdent(name) {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

function chLiteral(value) {
  return "'" + value.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

/** Errors from the addon carry ClickHouse's text; the code and name are parsed from it. */
function describeEngineError(err) {
  if (err instanceof EndpointError) {
    return { code: err.clickhouseCode, text: err.message, status: err.status };
  }
  const message = err && err.message != null ? String(err.message) : String(err);
  const code = /Code: (\d+)\./.exec(message);
  if (!code) {
    return {
      code: ERROR_CODES.STD_EXCEPTION,
      text: `Code: ${ERROR_CODES.STD_EXCEPTION}. DB::Exception: ${message}. (STD_EXCEPTION)`,
      status: 500,
    };
  }
  const names = [...message.matchAll(/\(([A-Z0-9_]*[A-Z]{3}[A-Z0-9_]*)\)/g)];
  const name = names.length > 0 ? names[names.length - 1][1] : undefined;
  return { code: Number(code[1]), text: message, status: HTTP_STATUS_BY_ERROR.get(name) ?? 500 };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const brotliDecompress = promisify(zlib.brotliDecompress);
const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);
const brotliCompress = promisify(zlib.brotliCompress);

async function decodeBody(body, contentEncoding) {
  const encoding = (contentEncoding || 'identity').trim().toLowerCase();
  const decode = { gzip: gunzip, deflate: inflate, br: brotliDecompress, identity: async (b) => b }[encoding];
  if (!decode) {
    throw new EndpointError('UNKNOWN_COMPRESSION_METHOD', `Unknown Content-Encoding: ${encoding}`, 500);
  }
  try {
    return await decode(body);
  } catch (err) {
    throw new EndpointError('CANNOT_DECOMPRESS', `Cannot decompress ${encoding} request body: ${err.message}`, 500);
  }
}

/** The codec for the response, honouring Accept-Encoding, or undefined for none. */
function responseCodec(enabled, acceptEncoding) {
  if (!enabled || !acceptEncoding) return undefined;
  const offered = acceptEncoding.split(',').map((part) => part.split(';')[0].trim().toLowerCase());
  return ['gzip', 'br', 'deflate'].find((codec) => offered.includes(codec));
}

async function encodeResponse(body, codec) {
  if (codec === 'gzip') return gzip(body);
  if (codec === 'deflate') return deflate(body);
  if (codec === 'br') return brotliCompress(body);
  return body;
}

function credentialsOf(req, searchParams) {
  const authorization = req.headers.authorization;
  if (typeof authorization === 'string' && /^basic /i.test(authorization)) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const headerUser = req.headers['x-clickhouse-user'];
  if (typeof headerUser === 'string') {
    const key = req.headers['x-clickhouse-key'];
    return { user: headerUser, password: typeof key === 'string' ? key : '' };
  }
  if (searchParams.has('user')) {
    return { user: searchParams.get('user'), password: searchParams.get('password') ?? '' };
  }
  return undefined;
}

function sameSecret(a, b) {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

function authenticate(req, searchParams, expected) {
  if (expected.user === undefined) return;
  const given = credentialsOf(req, searchParams);
  const message = `${given ? given.user : 'default'}: Authentication failed: password is incorrect, or there is no user with such name`;
  if (!given) throw new EndpointError('AUTHENTICATION_FAILED', message, 401);
  const ok = sameSecret(given.user, expected.user) && sameSecret(given.password, expected.password ?? '');
  if (!ok) throw new EndpointError('AUTHENTICATION_FAILED', message, 403);
}

/** The output format the engine will use: a trailing FORMAT clause wins over default_format. */
function outputFormatOf(sql, defaultFormat) {
  const match = /\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i.exec(sql);
  return match ? match[1] : defaultFormat;
}

function summaryHeader(stats) {
  const s = (n) => String(n ?? 0);
  return JSON.stringify({
    read_rows: s(stats.rowsRead),
    read_bytes: s(stats.bytesRead),
    written_rows: s(stats.rowsWritten),
    written_bytes: s(stats.bytesWritten),
    total_rows_to_read: s(stats.rowsRead),
    result_rows: s(stats.resultRows),
    result_bytes: s(stats.resultBytes),
    elapsed_ns: s(Math.round((stats.elapsed ?? 0) * 1e9)),
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  fs.mkdirSync(args.path, { recursive: true });
  const native = loadChdbNative();
  // ClickHouse's server quotes 64-bit integers in JSON output by default; chDB does not.
  const session = new Session(args.path, { connectionArgs: ['--output_format_json_quote_64bit_integers=1'] });
  const conn = () => session.connection;
  const run = (sql, format = 'TabSeparated', params) =>
    params ? native.QueryAsyncConnection(conn(), sql, format, params) : native.QueryAsyncConnection(conn(), sql, format);
  const text = async (sql) => Buffer.from((await run(sql)).bytes).toString('utf8');
  const version = (await text('SELECT version()')).trim();

  // Settings changed at startup; anything else changed by a request is reset after it.
  const changedSettings = async () => {
    const rows = (await text('SELECT name, value FROM system.settings WHERE changed')).split('\n').filter(Boolean);
    return new Map(rows.map((row) => row.split('\t')));
  };
  const baseline = await changedSettings();
  const restoreSettings = async () => {
    const now = await changedSettings();
    const assignments = [];
    for (const name of now.keys()) {
      if (!baseline.has(name)) assignments.push(`${name} = DEFAULT`);
    }
    for (const [name, value] of baseline) {
      if (now.get(name) !== value) assignments.push(`${name} = ${chLiteral(value)}`);
    }
    if (assignments.length > 0) await run(`SET ${assignments.join(', ')}`);
  };

  const queue = createSerialQueue();
  /** The session's current database (USE), undefined when unknown. */
  let currentDatabase;
  const expected = { user: args.user, password: args.password };

  async function execute(req, url, body) {
    const sp = url.searchParams;
    for (const [name, what] of UNSUPPORTED_PARAMETERS) {
      if (sp.has(name)) throw new EndpointError('NOT_IMPLEMENTED', `${what} is not supported by the chDB test endpoint`, 501);
    }
    if ((req.headers['content-type'] || '').startsWith('multipart/form-data')) {
      throw new EndpointError('NOT_IMPLEMENTED', 'multipart/form-data parameters are not supported by the chDB test endpoint', 501);
    }
    const urlQuery = sp.get('query') ?? '';
    let sql;
    let insertData;
    if (urlQuery && body.length > 0 && /^\s*INSERT\b/i.test(urlQuery)) {
      sql = urlQuery;
      insertData = body;
    } else {
      sql = urlQuery && body.length > 0 ? `${urlQuery}\n${body.toString('utf8')}` : urlQuery || body.toString('utf8');
    }
    if (sql.trim() === '') throw new EndpointError('SYNTAX_ERROR', 'Empty query', 400);

    const params = {};
    const settings = [];
    for (const [key, value] of sp) {
      if (key.startsWith('param_')) params[key.slice('param_'.length)] = value;
      else if (!HTTP_PARAMETERS.has(key)) {
        if (!SETTING_NAME.test(key)) throw new EndpointError('UNKNOWN_SETTING', `Unknown setting '${key}'`, 404);
        settings.push(`${key} = ${chLiteral(value)}`);
      }
    }
    const format = outputFormatOf(sql, sp.get('default_format') || 'TabSeparated');
    // As ClickHouse's server: the header wins over the URL parameter.
    const database = req.headers['x-clickhouse-database'] || sp.get('database') || 'default';

    // Session state a request can change: its settings (URL parameters or a SET
    // statement) and its database (USE). Restored only when a request could have changed
    // them — a real server pays nothing per request for this, so neither should the endpoint.
    const changesSettings = settings.length > 0 || /^\s*SET\b/i.test(sql);
    return queue.run(async () => {
      if (currentDatabase !== database) {
        await run(`USE ${chIdent(database)}`);
        currentDatabase = database;
      }
      if (/^\s*USE\b/i.test(sql)) currentDatabase = undefined;
      try {
        if (settings.length > 0) await run(`SET ${settings.join(', ')}`);
        if (insertData) {
          const r = await native.InsertRawAsyncConnection(conn(), sql, insertData, false);
          return { format, bytes: Buffer.alloc(0), stats: { ...r } };
        }
        const hasParams = Object.keys(params).length > 0;
        const r = await run(sql, format, hasParams ? params : undefined);
        const bytes = Buffer.from(r.bytes);
        return { format, bytes, stats: { ...r, resultBytes: bytes.length } };
      } finally {
        if (changesSettings) await restoreSettings();
      }
    });
  }

  async function handle(req, res) {
    const url = new URL(req.url || '/', 'http://localhost');
    const queryId = url.searchParams.get('query_id') || crypto.randomUUID();
    const codec = responseCodec(url.searchParams.get('enable_http_compression') === '1', req.headers['accept-encoding']);
    const reply = async (status, headers, payload) => {
      const out = await encodeResponse(payload, codec);
      res.writeHead(status, {
        'X-ClickHouse-Query-Id': queryId,
        'X-ClickHouse-Server-Display-Name': 'chdb-http-test-endpoint',
        'Keep-Alive': 'timeout=10',
        ...(codec ? { 'Content-Encoding': codec } : {}),
        'Content-Length': out.length,
        ...headers,
      });
      res.end(out);
    };
    try {
      const body = await readBody(req);
      if (url.pathname === '/ping' || (url.pathname === '/' && !url.searchParams.has('query') && body.length === 0)) {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': 4 });
        res.end('Ok.\n');
        return;
      }
      if (url.pathname !== '/') {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8' });
        res.end(`There is no handle ${url.pathname}\n`);
        return;
      }
      authenticate(req, url.searchParams, expected);
      const decoded = await decodeBody(body, req.headers['content-encoding']);
      const result = await execute(req, url, decoded);
      await reply(
        200,
        {
          'Content-Type': CONTENT_TYPES[result.format] || 'text/plain; charset=UTF-8',
          'X-ClickHouse-Format': result.format,
          'X-ClickHouse-Summary': summaryHeader(result.stats),
        },
        result.bytes,
      );
    } catch (err) {
      const { code, text: message, status } = describeEngineError(err);
      const withVersion = /\(version [^)]*\)\s*$/.test(message) ? message : `${message} (version ${version})`;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      await reply(
        status,
        {
          'Content-Type': 'text/plain; charset=UTF-8',
          'X-ClickHouse-Exception-Code': String(code),
          ...(status === 401 ? { 'WWW-Authenticate': 'Basic realm="ClickHouse server HTTP API"' } : {}),
        },
        Buffer.from(`${withVersion}\n`),
      );
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      process.stderr.write(`chdb-http-server: failed to answer a request: ${err && err.stack}\n`);
      res.destroy();
    });
  });
  server.keepAliveTimeout = 10_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(args.port, '127.0.0.1', resolve);
  });
  process.stdout.write(`listening ${server.address().port}\n`);

  let stopping = false;
  const shutdown = async (reason) => {
    if (stopping) return;
    stopping = true;
    try {
      server.close();
      server.closeIdleConnections();
      // Native calls are not cancellable: let the one in flight finish before closing.
      await queue.drained();
      session.close();
      process.exit(0);
    } catch (err) {
      process.stderr.write(`chdb-http-server: shutdown on ${reason} failed: ${err && err.stack}\n`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  if (args.watchStdin) {
    process.stdin.on('end', () => void shutdown('stdin closed'));
    process.stdin.on('error', () => void shutdown('stdin error'));
    process.stdin.resume();
  }
}

main().catch((err) => {
  process.stderr.write(`chdb-http-server: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
