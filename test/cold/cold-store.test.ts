import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { chIdent, chQualified } from '../../core/src/ddl/sql';
import {
  ColdStoreError,
  createColdStore,
  EmbeddedColdStore,
  HttpColdStore,
  type ColdStore,
  type ColdStoreLogger,
} from '../../core/src/cold';
import { embeddedColdStorePath, startChdbHttpServer, startTcpProxy, type ChdbHttpServer } from '../support/cold-endpoint';

/**
 * One contract, two implementations: the production HTTP store (through
 * @clickhouse/client against a ClickHouse-HTTP endpoint over the real engine) and the
 * embedded store (the same engine in-process). Each test asserts what a caller sees.
 */

// The logger the stores accept is the slice of pino they use.
const pinoFits: ColdStoreLogger = pino({ level: 'silent' });
void pinoFits;

interface LogRecord {
  obj: Record<string, unknown>;
  msg: string;
}
function recordingLogger(): ColdStoreLogger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  return { records, debug: (obj, msg) => records.push({ obj, msg }) };
}

const RUN = `${process.pid}_${Date.now().toString(36)}`;

// Rows as a ClickHouse TSV writer emits them: tab, newline and backslash escaped
// inside strings, \N for NULL, DateTime64 as epoch seconds with microseconds.
const TSV_ROWS = [
  ['1767225600.123456', 'tab\\there', '1.5', 'a', "{'k':'v'}"],
  ['1767225600.5', 'line1\\nline2', '-2.25', 'b', '{}'],
  ['1767225601', 'back\\\\slash', '0', 'a', "{'x':'y','z':''}"],
  ['1767225602.000001', '\\N', '3e-7', 'c', "{'q':'it\\'s'}"],
];
const TSV = Buffer.from(TSV_ROWS.map((r) => r.join('\t') + '\n').join(''));
const EXPECTED_ROWS = [
  { ts: '2026-01-01 00:00:00.123456', s: 'tab\there', f: 1.5, lc: 'a', m: { k: 'v' } },
  { ts: '2026-01-01 00:00:00.500000', s: 'line1\nline2', f: -2.25, lc: 'b', m: {} },
  { ts: '2026-01-01 00:00:01.000000', s: 'back\\slash', f: 0, lc: 'a', m: { x: 'y', z: '' } },
  { ts: '2026-01-01 00:00:02.000001', s: null, f: 3e-7, lc: 'c', m: { q: "it's" } },
];
const COLUMNS = ['ts', 's', 'f', 'lc', 'm'];

const createTableSql = (table: string, dedupWindow = 0) =>
  `CREATE TABLE ${table} (ts DateTime64(6, 'UTC'), s Nullable(String), f Float64, lc LowCardinality(String), m Map(String, String))
   ENGINE = MergeTree ORDER BY ts` + (dedupWindow > 0 ? ` SETTINGS non_replicated_deduplication_window = ${dedupWindow}` : '');

/** Literal values of the types whose JS shape matters; no table needed. */
const TYPES_QUERY = `SELECT
  toUInt64('18446744073709551615') AS u64, toInt64(-9007199254740993) AS i64, toUInt32(4294967295) AS u32,
  toInt8(-5) AS i8, toFloat64(0.1) AS f64, toFloat32(1.5) AS f32, toDecimal64(12.345, 3) AS dec,
  true AS b, toDateTime64('2026-01-01 00:00:00.123456', 6, 'UTC') AS ts, toDate('2026-01-02') AS d,
  CAST(NULL AS Nullable(String)) AS n, toLowCardinality('lc') AS lc, map('k', 1) AS m,
  [toUInt64(1), 2] AS arr, tuple(1, 'a') AS tup, toUUID('00000000-0000-0000-0000-000000000001') AS uuid`;
const TYPES_EXPECTED = {
  u64: '18446744073709551615',
  i64: '-9007199254740993',
  u32: 4294967295,
  i8: -5,
  f64: 0.1,
  f32: 1.5,
  dec: 12.345,
  b: true,
  ts: '2026-01-01 00:00:00.123456',
  d: '2026-01-02',
  n: null,
  lc: 'lc',
  m: { k: 1 },
  arr: ['1', '2'],
  tup: [1, 'a'],
  uuid: '00000000-0000-0000-0000-000000000001',
};

interface Implementation {
  name: 'http' | 'embedded';
  open(database: string, logger?: ColdStoreLogger): ColdStore;
}

let endpoint: ChdbHttpServer;
const implementations: Implementation[] = [
  { name: 'http', open: (database, logger) => createColdStore({ kind: 'http', url: endpoint.url, database, maxRetries: 1 }, logger) },
  { name: 'embedded', open: (database, logger) => createColdStore({ kind: 'embedded', path: embeddedColdStorePath(), database }, logger) },
];

beforeAll(async () => {
  endpoint = await startChdbHttpServer();
});
afterAll(async () => {
  await endpoint?.stop();
});

describe.each(implementations)('ColdStore contract: $name', (impl) => {
  const db = `contract_${impl.name}_${RUN}`;
  const table = (name: string) => chQualified(db, name);
  let store: ColdStore;

  beforeAll(async () => {
    store = impl.open('default');
    await store.command(`CREATE DATABASE ${chIdent(db)}`);
  });
  afterAll(async () => {
    await store.command(`DROP DATABASE IF EXISTS ${chIdent(db)}`).catch(() => undefined);
    await store.close();
  });

  test('kind says which implementation it is', () => {
    expect(store.kind).toBe(impl.name);
  });

  test('ping answers', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });

  test('creates a table with DateTime64, Nullable, Float64, LowCardinality and Map columns', async () => {
    await store.command(createTableSql(table('events')));
    const columns = await store.query<{ name: string; type: string }>(
      'SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position',
      { db, t: 'events' },
    );
    expect(columns).toEqual([
      { name: 'ts', type: "DateTime64(6, 'UTC')" },
      { name: 's', type: 'Nullable(String)' },
      { name: 'f', type: 'Float64' },
      { name: 'lc', type: 'LowCardinality(String)' },
      { name: 'm', type: 'Map(String, String)' },
    ]);
  });

  test('inserts TSV from a Buffer: escapes, \\N and epoch-decimal timestamps arrive exactly', async () => {
    await store.command(createTableSql(table('from_buffer')));
    await store.insertTsv({ table: table('from_buffer'), columns: COLUMNS, data: TSV });
    const rows = await store.query(`SELECT ts, s, f, lc, m FROM ${table('from_buffer')} ORDER BY ts`);
    expect(rows).toEqual(EXPECTED_ROWS);
  });

  test('inserts TSV from a Readable whose chunks split rows anywhere', async () => {
    await store.command(createTableSql(table('from_stream')));
    const text = TSV.toString('utf8');
    // Object-mode string chunks cut mid-field and mid-escape.
    const chunks = [text.slice(0, 7), text.slice(7, 29), text.slice(29, 30), text.slice(30)];
    await store.insertTsv({ table: table('from_stream'), columns: COLUMNS, data: Readable.from(chunks) });
    // And a byte stream of many rows.
    const many = Array.from({ length: 5000 }, (_, i) => `${1767225700 + i}.25\trow ${i}\t${i}\tz\t{}\n`).join('');
    await store.insertTsv({ table: table('from_stream'), columns: COLUMNS, data: Readable.from([Buffer.from(many)], { objectMode: false }) });
    const rows = await store.query(`SELECT ts, s, f, lc, m FROM ${table('from_stream')} WHERE lc != 'z' ORDER BY ts`);
    expect(rows).toEqual(EXPECTED_ROWS);
    const [agg] = await store.query<{ n: string; total: number }>(
      `SELECT count() AS n, sum(f) AS total FROM ${table('from_stream')} WHERE lc = 'z'`,
    );
    expect(agg).toEqual({ n: '5000', total: (4999 * 5000) / 2 });
  });

  test('binds {name:Type} parameters: strings with escapes, NULL, numbers, booleans', async () => {
    await store.command(createTableSql(table('params')));
    await store.insertTsv({ table: table('params'), columns: COLUMNS, data: TSV });
    const byString = await store.query<{ f: number }>(`SELECT f FROM ${table('params')} WHERE s = {p:String}`, { p: 'tab\there' });
    expect(byString).toEqual([{ f: 1.5 }]);
    const tricky = "quote ' backslash \\ tab \t newline \n end";
    const echoed = await store.query(
      'SELECT {s:String} AS s, {n:Nullable(String)} AS n, {i:Int64} AS i, {x:Float64} AS x, {b:Bool} AS b',
      { s: tricky, n: null, i: -42, x: 0.5, b: true },
    );
    expect(echoed).toEqual([{ s: tricky, n: null, i: '-42', x: 0.5, b: true }]);
    // A parameter is a value, never SQL.
    const injected = await store.query<{ n: string }>(`SELECT count() AS n FROM ${table('params')} WHERE s = {p:String}`, {
      p: "x' OR 1=1 --",
    });
    expect(injected).toEqual([{ n: '0' }]);
  });

  test('runs mutations through command, with parameters (lightweight DELETE)', async () => {
    await store.command(createTableSql(table('deletes')));
    await store.insertTsv({ table: table('deletes'), columns: COLUMNS, data: TSV });
    await store.command(`DELETE FROM ${table('deletes')} WHERE lc = {lc:String}`, { lc: 'a' });
    const rows = await store.query<{ lc: string }>(`SELECT lc FROM ${table('deletes')} ORDER BY ts`);
    expect(rows).toEqual([{ lc: 'b' }, { lc: 'c' }]);
  });

  test('a retried insert with the same dedupToken inserts once; another token inserts again', async () => {
    await store.command(createTableSql(table('dedup'), 1000));
    const count = async () => (await store.query<{ n: string }>(`SELECT count() AS n FROM ${table('dedup')}`))[0].n;
    const batch = { table: table('dedup'), columns: COLUMNS, data: TSV, dedupToken: `batch-1-${RUN}` };
    await store.insertTsv(batch);
    await store.insertTsv(batch);
    expect(await count()).toBe('4');
    // The same token on a stream (a caller re-sending a batch it re-read).
    await store.insertTsv({ ...batch, data: Readable.from([TSV.subarray(0, 40), TSV.subarray(40)], { objectMode: false }) });
    expect(await count()).toBe('4');
    await store.insertTsv({ ...batch, dedupToken: `batch-2-${RUN}` });
    expect(await count()).toBe('8');
  });

  test('table and column names that need quoting work for inserts (with and without a stream)', async () => {
    const odd = table('odd-name `x`');
    await store.command(`CREATE TABLE ${odd} (${chIdent('service.name')} String, ${chIdent('n-1')} UInt8) ENGINE = MergeTree ORDER BY tuple()`);
    await store.insertTsv({ table: odd, columns: ['service.name', 'n-1'], data: Buffer.from('api\t1\n') });
    await store.insertTsv({ table: odd, columns: ['service.name', 'n-1'], data: Readable.from(['w', 'eb\t2\n']) });
    expect(await store.query(`SELECT * FROM ${odd} ORDER BY 2`)).toEqual([
      { 'service.name': 'api', 'n-1': 1 },
      { 'service.name': 'web', 'n-1': 2 },
    ]);
  });

  test('per-insert settings apply to that insert', async () => {
    await store.command(createTableSql(table('settings')));
    const oneBadRow = Buffer.concat([TSV, Buffer.from('not-a-time\tx\t1\ta\t{}\n')]);
    const strict = await store.insertTsv({ table: table('settings'), columns: COLUMNS, data: oneBadRow }).catch((e: unknown) => e);
    expect(strict).toBeInstanceOf(ColdStoreError);
    await store.insertTsv({ table: table('settings'), columns: COLUMNS, data: oneBadRow, settings: { input_format_allow_errors_num: 1 } });
    expect(await store.query(`SELECT count() AS n FROM ${table('settings')}`)).toEqual([{ n: '4' }]);
  });

  test('streamed reads bind the same parameters, and fail with the same codes', async () => {
    const tricky = "quote ' backslash \\ tab \t newline \n cr \r ünï end";
    const read = async (sql: string, params?: Record<string, string | number | boolean | null>) => {
      const chunks: Buffer[] = [];
      for await (const c of await store.queryTsvStream(sql, params)) chunks.push(Buffer.from(c as Uint8Array));
      return Buffer.concat(chunks).toString('utf8');
    };
    const echoed = await read('SELECT {s:String} = unhex({h:String}), {n:Nullable(String)}, {i:Int64}, {x:Float64}, {nan:Float64}, {inf:Float64}, {b:Bool}', {
      s: tricky,
      h: Buffer.from(tricky).toString('hex'),
      n: null,
      i: -42,
      x: 0.5,
      nan: NaN,
      inf: -Infinity,
      b: true,
    });
    expect(echoed).toBe('1\t\\N\t-42\t0.5\tnan\t-inf\ttrue\n');
    const syntax = await read('SELEC 1 AS secret_column_name').catch((e: unknown) => e);
    expect(syntax).toBeInstanceOf(ColdStoreError);
    expect((syntax as ColdStoreError).clickhouseCode).toBe(62);
    expect((syntax as ColdStoreError).message).not.toContain('secret_column_name');
    const unknown = await read(`SELECT * FROM ${table('no_such_table')}`).catch((e: unknown) => e);
    expect((unknown as ColdStoreError).clickhouseCode).toBe(60);
  });

  test('a syntax error is ColdStoreError with code 62, without the SQL in the message', async () => {
    const err = await store.query('SELEC 1 AS secret_column_name').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ColdStoreError);
    expect((err as ColdStoreError).clickhouseCode).toBe(62);
    expect((err as ColdStoreError).code).toBe('COLD_STORE_ERROR');
    expect((err as ColdStoreError).message).toMatch(/SYNTAX_ERROR/);
    expect((err as ColdStoreError).message).not.toContain('secret_column_name');
  });

  test('an unknown table is ColdStoreError with code 60', async () => {
    const err = await store.query(`SELECT * FROM ${table('no_such_table')}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ColdStoreError);
    expect((err as ColdStoreError).clickhouseCode).toBe(60);
    expect((err as ColdStoreError).message).toMatch(/UNKNOWN_TABLE/);
    const insertErr = await store
      .insertTsv({ table: table('no_such_table'), columns: COLUMNS, data: TSV })
      .catch((e: unknown) => e);
    expect((insertErr as ColdStoreError).clickhouseCode).toBe(60);
  });

  test('bad TSV is a parse error with its ClickHouse code', async () => {
    await store.command(createTableSql(table('bad_tsv')));
    const err = await store
      .insertTsv({ table: table('bad_tsv'), columns: COLUMNS, data: Buffer.from('not-a-time\tx\t1\ta\t{}\n') })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ColdStoreError);
    expect(typeof (err as ColdStoreError).clickhouseCode).toBe('number');
  });

  test('64-bit integers come back as strings, other types as their JSON shape', async () => {
    const [row] = await store.query(TYPES_QUERY);
    expect(row).toEqual(TYPES_EXPECTED);
  });

  test('the configured database holds unqualified names once it exists', async () => {
    const own = `own_${impl.name}_${RUN}`;
    const scoped = impl.open(own);
    try {
      // Before it exists requests resolve in `default`, so the store can create it.
      expect(await scoped.query('SELECT currentDatabase() AS db')).toEqual([{ db: 'default' }]);
      await scoped.command(`CREATE DATABASE IF NOT EXISTS ${chIdent(own)}`);
      await scoped.command(createTableSql('unqualified'));
      await scoped.insertTsv({ table: 'unqualified', columns: COLUMNS, data: TSV });
      expect(await scoped.query('SELECT currentDatabase() AS db, count() AS n FROM unqualified')).toEqual([{ db: own, n: '4' }]);
    } finally {
      await scoped.command(`DROP DATABASE IF EXISTS ${chIdent(own)}`).catch(() => undefined);
      await scoped.close();
    }
  });

  test('SQL text, parameters and table data never reach the logger', async () => {
    const logger = recordingLogger();
    const logged = impl.open('default', logger);
    try {
      await logged.command(createTableSql(table('logged')));
      await logged.insertTsv({
        table: table('logged'),
        columns: COLUMNS,
        data: Buffer.from("1767225600\tdata-marker-2b7e\t1\ta\t{}\n"),
        dedupToken: 'token-marker-c1d0',
      });
      await logged.query(`SELECT 'sql-marker-7f3a' AS x, count() FROM ${table('logged')} WHERE s != {p:String}`, {
        p: 'param-marker-91c2',
      });
      await logged.query("SELEC 'sql-marker-7f3a'").catch(() => undefined);
    } finally {
      await logged.close();
    }
    expect(logger.records.length).toBeGreaterThanOrEqual(4);
    expect(logger.records.some((r) => r.obj.op === 'insert')).toBe(true);
    const everything = JSON.stringify(logger.records);
    for (const marker of ['sql-marker-7f3a', 'param-marker-91c2', 'data-marker-2b7e', 'token-marker-c1d0']) {
      expect(everything).not.toContain(marker);
    }
  });
});

describe('both stores return the same JS values for the same query', () => {
  test('types, parameters and an inserted table read back identically', async () => {
    const http = implementations[0].open('default');
    const embedded = implementations[1].open('default');
    const db = `same_${RUN}`;
    try {
      const results = [];
      for (const store of [http, embedded]) {
        await store.command(`CREATE DATABASE IF NOT EXISTS ${chIdent(db)}`);
        await store.command(createTableSql(chQualified(db, 't')));
        await store.insertTsv({ table: chQualified(db, 't'), columns: COLUMNS, data: TSV });
        results.push({
          types: await store.query(TYPES_QUERY),
          rows: await store.query(`SELECT * FROM ${chQualified(db, 't')} ORDER BY ts`),
          params: await store.query("SELECT {a:UInt64} AS a, {t:DateTime64(6, 'UTC')} AS t, {s:String} AS s", {
            a: '18446744073709551615',
            t: '1767225600.123456',
            s: "it's \\ a\ttab",
          }),
        });
        await store.command(`DROP DATABASE ${chIdent(db)}`);
      }
      expect(results[0]).toEqual(results[1]);
      expect(results[0].types).toEqual([TYPES_EXPECTED]);
      expect(results[0].rows).toEqual(EXPECTED_ROWS);
      expect(results[0].params).toEqual([{ a: '18446744073709551615', t: '2026-01-01 00:00:00.123456', s: "it's \\ a\ttab" }]);
    } finally {
      await http.close();
      await embedded.close();
    }
  });
});

describe('HttpColdStore over the network', () => {
  const tsvTable = (db: string) => chQualified(db, 't');

  test('a stopped endpoint is a ColdStoreError naming the URL and "unreachable", after retrying', async () => {
    const stopped = await startChdbHttpServer();
    await stopped.stop();
    const logger = recordingLogger();
    const store = new HttpColdStore({ url: stopped.url, database: 'default', maxRetries: 2 }, logger);
    try {
      const err = await store.ping().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ColdStoreError);
      expect((err as ColdStoreError).message).toContain(`ClickHouse at ${stopped.url} is unreachable`);
      expect((err as ColdStoreError).message).toContain('ECONNREFUSED');
      expect((err as ColdStoreError).clickhouseCode).toBeUndefined();
      expect(logger.records.filter((r) => r.msg === 'retrying cold store request')).toHaveLength(2);
    } finally {
      await store.close();
    }
  });

  test('a Buffer insert with a dedupToken is retried after a lost response and lands once', async () => {
    const db = `retry_${RUN}`;
    const admin = new HttpColdStore({ url: endpoint.url, database: 'default' });
    await admin.command(`CREATE DATABASE ${chIdent(db)}`);
    await admin.command(createTableSql(tsvTable(db), 1000));
    // The first connection carries the insert; the endpoint commits it, the reply is lost.
    const proxy = await startTcpProxy(endpoint.port, (n) => (n === 0 ? 'reset-instead-of-response' : 'none'));
    const logger = recordingLogger();
    const store = new HttpColdStore({ url: proxy.url, database: 'default', maxRetries: 2 }, logger);
    try {
      await store.insertTsv({ table: tsvTable(db), columns: COLUMNS, data: TSV, dedupToken: `retry-${RUN}` });
      expect(proxy.faults).toBe(1);
      expect(logger.records.filter((r) => r.msg === 'retrying cold store request')).toHaveLength(1);
      expect(await admin.query(`SELECT count() AS n FROM ${tsvTable(db)}`)).toEqual([{ n: '4' }]);
    } finally {
      await store.close();
      await proxy.close();
      await admin.command(`DROP DATABASE ${chIdent(db)}`);
      await admin.close();
    }
  });

  test('a streamed insert, or one without a dedupToken, is not retried: the rows may already be in', async () => {
    const db = `noretry_${RUN}`;
    const admin = new HttpColdStore({ url: endpoint.url, database: 'default' });
    await admin.command(`CREATE DATABASE ${chIdent(db)}`);
    await admin.command(createTableSql(tsvTable(db)));
    const proxy = await startTcpProxy(endpoint.port, (n) => (n <= 1 ? 'reset-instead-of-response' : 'none'));
    const store = new HttpColdStore({ url: proxy.url, database: 'default', maxRetries: 3 });
    try {
      const streamed = await store
        .insertTsv({ table: tsvTable(db), columns: COLUMNS, data: Readable.from([TSV], { objectMode: false }), dedupToken: `s-${RUN}` })
        .catch((e: unknown) => e);
      expect(streamed).toBeInstanceOf(ColdStoreError);
      expect((streamed as ColdStoreError).message).toMatch(/^connection to ClickHouse at http:\/\/127\.0\.0\.1:\d+ was lost during insert/);
      expect((streamed as ColdStoreError).message).toContain('not retried: a stream cannot be re-sent');
      const untokened = await store.insertTsv({ table: tsvTable(db), columns: COLUMNS, data: TSV }).catch((e: unknown) => e);
      expect((untokened as ColdStoreError).message).toContain('not retried: no dedupToken');
      expect(proxy.faults).toBe(2);
      // Both reached the engine before their replies were lost.
      expect(await admin.query(`SELECT count() AS n FROM ${tsvTable(db)}`)).toEqual([{ n: '8' }]);
    } finally {
      await store.close();
      await proxy.close();
      await admin.command(`DROP DATABASE ${chIdent(db)}`);
      await admin.close();
    }
  });

  test('an INSERT … SELECT command is retried after a lost response only with a dedupToken, and lands once', async () => {
    const db = `cmdretry_${RUN}`;
    const admin = new HttpColdStore({ url: endpoint.url, database: 'default' });
    await admin.command(`CREATE DATABASE ${chIdent(db)}`);
    await admin.command(createTableSql(tsvTable(db), 1000));
    const insertSelect = `INSERT INTO ${tsvTable(db)} (ts, s, f, lc, m) SELECT toDateTime64('2026-01-01 00:00:00', 6, 'UTC'), 'x', 1.5, 'a', map() FROM numbers(3)`;
    const proxy = await startTcpProxy(endpoint.port, (n) => (n === 0 || n === 2 ? 'reset-instead-of-response' : 'none'));
    const store = new HttpColdStore({ url: proxy.url, database: 'default', maxRetries: 2 });
    try {
      await store.command(insertSelect, undefined, { dedupToken: `cmd-${RUN}` });
      expect(await admin.query(`SELECT count() AS n FROM ${tsvTable(db)}`)).toEqual([{ n: '3' }]);
      // A new client, so the next request opens connection #2 (keep-alive would reuse #1).
      const fresh = new HttpColdStore({ url: proxy.url, database: 'default', maxRetries: 2 });
      const unsafe = await fresh.command(insertSelect).catch((e: unknown) => e);
      await fresh.close();
      expect(unsafe).toBeInstanceOf(ColdStoreError);
      expect((unsafe as ColdStoreError).message).toContain('not retried');
      expect(proxy.faults).toBe(2);
      // The untokened one ran once (its reply was lost), not twice.
      expect(await admin.query(`SELECT count() AS n FROM ${tsvTable(db)}`)).toEqual([{ n: '6' }]);
    } finally {
      await store.close();
      await proxy.close();
      await admin.command(`DROP DATABASE ${chIdent(db)}`);
      await admin.close();
    }
  });

  test('queries and idempotent commands are retried after a connection reset', async () => {
    const proxy = await startTcpProxy(endpoint.port, (n) => (n === 0 || n === 2 ? 'reset-on-connect' : 'none'));
    const store = new HttpColdStore({ url: proxy.url, database: 'default', maxRetries: 2 });
    try {
      expect(await store.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      // Keep-alive reuses the healthy connection; force a new one for the command.
      await store.close();
      const again = new HttpColdStore({ url: proxy.url, database: 'default', maxRetries: 2 });
      await again.command('SELECT 1', undefined, { idempotent: true });
      await again.close();
      expect(proxy.faults).toBe(2);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  describe('streamed reads, sent by hand (plain-read.ts)', () => {
    const streamed = async (store: HttpColdStore, sql: string) => {
      const chunks: Buffer[] = [];
      for await (const c of await store.queryTsvStream(sql)) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    };

    test('retried after a connection reset before any byte; the next read reuses the connection', async () => {
      const proxy = await startTcpProxy(endpoint.port, (n) => (n === 0 ? 'reset-on-connect' : 'none'));
      const store = new HttpColdStore({ url: proxy.url, database: 'default', maxRetries: 2 });
      try {
        expect(await streamed(store, 'SELECT number FROM numbers(3)')).toBe('0\n1\n2\n');
        expect(await streamed(store, 'SELECT 7')).toBe('7\n');
        expect(proxy.faults).toBe(1);
        // One connection reset, one kept alive for both reads.
        expect(proxy.sent).toHaveLength(2);
      } finally {
        await store.close();
        await proxy.close();
      }
    });

    test('an idle connection is closed by the proxy before the server would, and the next read opens another', async () => {
      const proxy = await startTcpProxy(endpoint.port);
      const store = new HttpColdStore({ url: proxy.url, database: 'default' });
      try {
        expect(await streamed(store, 'SELECT 1')).toBe('1\n');
        await new Promise((r) => setTimeout(r, 3_000));
        expect(await streamed(store, 'SELECT 2')).toBe('2\n');
        expect(proxy.sent).toHaveLength(2);
      } finally {
        await store.close();
        await proxy.close();
      }
    });

    test('a read that outlasts requestTimeoutMs is a timeout naming the URL, not retried forever', async () => {
      const store = new HttpColdStore({ url: endpoint.url, database: 'default', requestTimeoutMs: 300, maxRetries: 1 });
      try {
        const err = await streamed(store, 'SELECT sleep(1)').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ColdStoreError);
        expect((err as ColdStoreError).message).toContain(`ClickHouse at ${endpoint.url} did not answer the query within 300 ms`);
        // The endpoint runs one statement at a time: once both sleeps (the read and its retry) are done, the store reads again.
        await new Promise((r) => setTimeout(r, 2_500));
        expect(await streamed(store, 'SELECT 3')).toBe('3\n');
      } finally {
        await store.close();
      }
    });
  });

  test('gzip compresses request bodies and responses by default, and can be turned off', async () => {
    const db = `gzip_${RUN}`;
    const proxy = await startTcpProxy(endpoint.port);
    const gz = new HttpColdStore({ url: proxy.url, database: 'default' });
    const plain = new HttpColdStore({ url: proxy.url, database: 'default', compression: false });
    try {
      await gz.command(`CREATE DATABASE ${chIdent(db)}`);
      await gz.command(createTableSql(tsvTable(db)));
      await gz.insertTsv({ table: tsvTable(db), columns: COLUMNS, data: TSV });
      expect(await gz.query(`SELECT * FROM ${tsvTable(db)} ORDER BY ts`)).toEqual(EXPECTED_ROWS);
      const gzSent = proxy.sent.map((b) => b.toString('latin1')).join('');
      const gzReceived = proxy.received.map((b) => b.toString('latin1')).join('');
      expect(gzSent).toMatch(/^content-encoding: gzip\r$/im);
      expect(gzSent).toMatch(/enable_http_compression=1/);
      expect(gzReceived).toMatch(/^content-encoding: gzip\r$/im);
      // The TSV payload itself never crossed the wire in clear text.
      expect(gzSent).not.toContain('line1\\nline2');

      const before = proxy.sent.length;
      expect(await plain.query(`SELECT * FROM ${tsvTable(db)} ORDER BY ts`)).toEqual(EXPECTED_ROWS);
      await plain.insertTsv({ table: tsvTable(db), columns: COLUMNS, data: TSV });
      const plainSent = proxy.sent.slice(before).map((b) => b.toString('latin1')).join('');
      const plainReceived = proxy.received.slice(before).map((b) => b.toString('latin1')).join('');
      expect(plainSent).not.toMatch(/content-encoding/i);
      expect(plainReceived).not.toMatch(/content-encoding/i);
      expect(plainSent).toContain('line1\\nline2');
    } finally {
      await gz.command(`DROP DATABASE IF EXISTS ${chIdent(db)}`).catch(() => undefined);
      await gz.close();
      await plain.close();
      await proxy.close();
    }
  });

  test('an insert asked not to compress goes plain from a compressing store; its other requests stay gzipped', async () => {
    const db = `plain_insert_${RUN}`;
    const proxy = await startTcpProxy(endpoint.port);
    const store = new HttpColdStore({ url: proxy.url, database: 'default' });
    try {
      await store.command(`CREATE DATABASE ${chIdent(db)}`);
      await store.command(createTableSql(tsvTable(db)));
      const before = proxy.sent.length;
      await store.insertTsv({ table: tsvTable(db), columns: COLUMNS, data: TSV, compress: false });
      const sent = proxy.sent.slice(before).map((b) => b.toString('latin1')).join('');
      expect(sent).not.toMatch(/content-encoding/i);
      expect(sent).toContain('line1\\nline2');
      // The store's own requests (on connections of their own: the proxy records one buffer per connection) stay gzipped.
      expect(proxy.sent.slice(0, before).map((b) => b.toString('latin1')).join('')).toMatch(/^content-encoding: gzip\r$/im);
      expect(await store.query(`SELECT * FROM ${tsvTable(db)} ORDER BY ts`)).toEqual(EXPECTED_ROWS);
    } finally {
      await store.command(`DROP DATABASE IF EXISTS ${chIdent(db)}`).catch(() => undefined);
      await store.close();
      await proxy.close();
    }
  });

  test("streamed reads (the proxy's cold answers) go plain from a compressing store unless asked; its other requests stay gzipped", async () => {
    const db = `plain_reads_${RUN}`;
    const proxy = await startTcpProxy(endpoint.port);
    const store = new HttpColdStore({ url: proxy.url, database: 'default' });
    const gzipped = new HttpColdStore({ url: proxy.url, database: 'default', compressStreamedReads: true });
    const streamed = async (s: HttpColdStore) => {
      const chunks: Buffer[] = [];
      for await (const c of await s.queryTsvStream(`SELECT * FROM ${tsvTable(db)} ORDER BY ts`)) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    };
    const wire = async (read: () => Promise<string>) => {
      const [sent, received] = [proxy.sent.length, proxy.received.length];
      const text = await read();
      const join = (bufs: Buffer[]) => bufs.map((b) => b.toString('latin1')).join('');
      return { text, sent: join(proxy.sent.slice(sent)), received: join(proxy.received.slice(received)) };
    };
    try {
      await store.command(`CREATE DATABASE ${chIdent(db)}`);
      await store.command(createTableSql(tsvTable(db)));
      await store.insertTsv({ table: tsvTable(db), columns: COLUMNS, data: TSV });
      const plain = await wire(() => streamed(store));
      expect(plain.sent).not.toMatch(/content-encoding/i);
      expect(plain.received).not.toMatch(/content-encoding/i);
      const zipped = await wire(() => streamed(gzipped));
      expect(zipped.received).toMatch(/^content-encoding: gzip\r$/im);
      expect(plain.text).toBe(zipped.text);
      expect(plain.text).toContain('line1\\nline2');
      // The store's own requests went first, on its own connection (the proxy records a buffer per connection), gzipped.
      expect(proxy.received.slice(0, 1).map((b) => b.toString('latin1')).join('')).toMatch(/^content-encoding: gzip\r$/im);
      expect(await store.query(`SELECT * FROM ${tsvTable(db)} ORDER BY ts`)).toEqual(EXPECTED_ROWS);
    } finally {
      await store.command(`DROP DATABASE IF EXISTS ${chIdent(db)}`).catch(() => undefined);
      await store.close();
      await gzipped.close();
      await proxy.close();
    }
  });

  describe('against an endpoint that requires a user and password', () => {
    let secured: ChdbHttpServer;
    const password = 'secret-marker-55d1';
    beforeAll(async () => {
      secured = await startChdbHttpServer({ user: 'strata', password });
    });
    afterAll(async () => {
      await secured?.stop();
    });

    test('the right credentials work; a wrong password is code 516 and no secret is printed or logged', async () => {
      const logger = recordingLogger();
      const good = new HttpColdStore({ url: secured.url, username: 'strata', password, database: 'default' }, logger);
      const bad = new HttpColdStore({ url: secured.url, username: 'strata', password: 'wrong-marker-3e9a', database: 'default' }, logger);
      // Credentials written into the URL are moved out of it and never printed either.
      const inUrl = new HttpColdStore(
        { url: secured.url.replace('http://', `http://strata:${password}@`), database: 'default' },
        logger,
      );
      try {
        await good.ping();
        await inUrl.ping();
        const err = await bad.query('SELECT 1').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ColdStoreError);
        expect((err as ColdStoreError).clickhouseCode).toBe(516);
        expect((err as ColdStoreError).message).not.toContain('wrong-marker-3e9a');
        // Streamed reads (sent by hand, plain-read.ts) carry the same credentials.
        const chunks: Buffer[] = [];
        for await (const c of await good.queryTsvStream('SELECT 5')) chunks.push(c as Buffer);
        expect(Buffer.concat(chunks).toString()).toBe('5\n');
        const streamedErr = await bad.queryTsvStream('SELECT 1').catch((e: unknown) => e);
        expect((streamedErr as ColdStoreError).clickhouseCode).toBe(516);
        expect((streamedErr as ColdStoreError).message).not.toContain('wrong-marker-3e9a');
        const stopped = await startChdbHttpServer();
        await stopped.stop();
        const unreachable = new HttpColdStore(
          { url: stopped.url.replace('http://', `http://strata:${password}@`), database: 'default', maxRetries: 0 },
          logger,
        );
        const netErr = await unreachable.ping().catch((e: unknown) => e);
        await unreachable.close();
        expect((netErr as ColdStoreError).message).toContain(`ClickHouse at ${stopped.url} is unreachable`);
        expect((netErr as ColdStoreError).message).not.toContain(password);
      } finally {
        await good.close();
        await bad.close();
        await inUrl.close();
      }
      expect(logger.records.length).toBeGreaterThan(0);
      const everything = JSON.stringify(logger.records);
      expect(everything).not.toContain(password);
      expect(everything).not.toContain('wrong-marker-3e9a');
    });
  });
});

describe('EmbeddedColdStore in one process', () => {
  test('the same path can be opened again; a second path is refused with a clear error', async () => {
    const path = embeddedColdStorePath();
    const first = new EmbeddedColdStore({ path, database: 'default' });
    const second = new EmbeddedColdStore({ path, database: 'default' });
    try {
      expect(() => new EmbeddedColdStore({ path: `${path}-other`, database: 'default' })).toThrow(
        /already open on .* cannot open a second data directory/,
      );
      await first.close();
      // The engine stays open while another store uses it.
      await expect(second.ping()).resolves.toBeUndefined();
      await expect(first.ping()).rejects.toThrow(/the store is closed/);
    } finally {
      await first.close();
      await second.close();
    }
  });

  test('queries run off the event loop', async () => {
    const store = new EmbeddedColdStore({ path: embeddedColdStorePath(), database: 'default' });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const started = Date.now();
      await store.query('SELECT sum(number) AS s FROM numbers(1000000000)');
      const elapsed = Date.now() - started;
      // Timers kept firing while the engine worked (a blocked loop gives ~0 ticks).
      expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 5 / 4));
      expect(elapsed).toBeGreaterThan(40);
    } finally {
      clearInterval(timer);
      await store.close();
    }
  });
});

describe('chdb-http-server speaks ClickHouse HTTP', () => {
  test('ping, headers, query parameters, settings per request, errors, auth', async () => {
    const ping = await fetch(`${endpoint.url}/ping`);
    expect(await ping.text()).toBe('Ok.\n');

    const ok = await fetch(`${endpoint.url}/?query_id=q-1&param_p=a%5Ctb&insert_deduplication_token=xyz`, {
      method: 'POST',
      body: "SELECT {p:String} AS p, getSetting('insert_deduplication_token') AS t FORMAT JSONEachRow",
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-clickhouse-query-id')).toBe('q-1');
    expect(ok.headers.get('x-clickhouse-format')).toBe('JSONEachRow');
    expect(JSON.parse(ok.headers.get('x-clickhouse-summary') ?? '{}')).toMatchObject({ read_rows: '1' });
    expect(await ok.json()).toEqual({ p: 'a\tb', t: 'xyz' });

    // Settings apply to one request only.
    const next = await fetch(`${endpoint.url}/`, { method: 'POST', body: "SELECT getSetting('insert_deduplication_token') AS t FORMAT JSONEachRow" });
    expect(await next.json()).toEqual({ t: '' });

    const bad = await fetch(`${endpoint.url}/`, { method: 'POST', body: 'SELECT * FROM system.no_such_table' });
    expect(bad.status).toBe(404);
    expect(bad.headers.get('x-clickhouse-exception-code')).toBe('60');
    expect(await bad.text()).toMatch(/^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\) \(version [\d.]+\)\n$/s);

    const secured = await startChdbHttpServer({ user: 'u', password: 'p' });
    try {
      const anonymous = await fetch(`${secured.url}/?query=SELECT%201`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('x-clickhouse-exception-code')).toBe('516');
      const wrong = await fetch(`${secured.url}/?query=SELECT%201`, { headers: { 'X-ClickHouse-User': 'u', 'X-ClickHouse-Key': 'nope' } });
      expect(wrong.status).toBe(403);
      const right = await fetch(`${secured.url}/?query=SELECT%201`, { headers: { 'X-ClickHouse-User': 'u', 'X-ClickHouse-Key': 'p' } });
      expect(await right.text()).toBe('1\n');
      expect((await fetch(`${secured.url}/ping`)).status).toBe(200);
    } finally {
      await secured.stop();
    }
  });

  test('data written survives a restart on the same directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'strata-chdb-kept-'));
    const a = await startChdbHttpServer({ dataDir });
    const store = new HttpColdStore({ url: a.url, database: 'default' });
    await store.command(createTableSql('default.kept'));
    await store.insertTsv({ table: 'default.kept', columns: COLUMNS, data: TSV });
    await store.close();
    await a.stop();
    const b = await startChdbHttpServer({ dataDir });
    const reopened = new HttpColdStore({ url: b.url, database: 'default' });
    try {
      expect(await reopened.query('SELECT count() AS n FROM default.kept')).toEqual([{ n: '4' }]);
    } finally {
      await reopened.close();
      await b.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
