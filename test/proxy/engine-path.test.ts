// Statements the router sends to the engine: the proxy encodes the engine's answer on
// the wire. The engine here is a test stand-in (the real tier engine is built in
// proxy/engine by the routing issue) that asks the real PostgreSQL for text-format
// values, so every result can be compared with what PostgreSQL itself sends for the
// same statement, in text and in binary.
import { Client } from 'pg';
import { SqlStateError, type EngineResult, type QueryEngine, type ResultField, type Router, type SessionContext } from '@strata/proxy';
import { wire } from '@strata/proxy';
import { startProxyFixture, type ProxyFixture } from '../support/proxy-fixture';
import { rawLogin } from '../support/proxy-raw-client';

/** Sends one batch and returns the reply message types up to ReadyForQuery. */
async function batchReplies(port: number, database: string, messages: Buffer[]): Promise<string[]> {
  const socket = await rawLogin(port, database);
  const types: string[] = [];
  const reader = new wire.FrameReader(1 << 24);
  const done = new Promise<void>((resolve) =>
    socket.on('data', (chunk: Buffer) =>
      reader.push(chunk, (type) => {
        types.push(String.fromCharCode(type));
        if (type === wire.Backend.readyForQuery) resolve();
      }),
    ),
  );
  socket.write(Buffer.concat(messages));
  await done;
  socket.end(wire.TERMINATE);
  return types;
}

const ENGINE_MARK = '/*engine*/';

class PostgresTextEngine implements QueryEngine {
  calls: Array<{ sql: string; params?: Array<string | null> }> = [];
  constructor(private readonly pg: Client) {}

  private check(sql: string): void {
    if (sql.includes('/*unsupported*/')) throw new SqlStateError('0A000', 'window functions over both tiers are not supported', 'detail here', 'hint here');
    if (sql.includes('/*crash*/')) throw new Error("engine blew up near 'secret-literal-4711'");
  }

  async describe(stmt: { sql: string; paramTypes: number[] }): Promise<{ paramTypes: number[]; fields: ResultField[] }> {
    this.check(stmt.sql);
    const count = Math.max(0, ...[...stmt.sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
    const r = await this.pg.query({ text: `SELECT * FROM (${stmt.sql.replace(/;\s*$/, '')}) AS q LIMIT 0`, values: new Array(count).fill(null) });
    return { paramTypes: stmt.paramTypes.length ? stmt.paramTypes : new Array(count).fill(0), fields: r.fields.map(toField) };
  }

  async execute(stmt: { sql: string; params: Array<string | null> }): Promise<EngineResult> {
    this.calls.push({ sql: stmt.sql, params: stmt.params });
    this.check(stmt.sql);
    const r = await this.pg.query({ text: stmt.sql, values: stmt.params, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } } as never);
    const result = r as unknown as { fields: Array<Parameters<typeof toField>[0]>; rows: Array<Array<string | null>>; command: string; rowCount: number };
    return {
      fields: result.fields.map(toField),
      rows: (async function* () {
        yield* result.rows;
      })(),
      commandTag: () => (result.command === 'SELECT' ? `SELECT ${result.rowCount}` : `${result.command} ${result.rowCount}`),
    };
  }
}

function toField(f: { name: string; tableID: number; columnID: number; dataTypeID: number; dataTypeSize: number; dataTypeModifier: number }): ResultField {
  return { name: f.name, tableOid: f.tableID, columnAttr: f.columnID, typeOid: f.dataTypeID, typeSize: f.dataTypeSize, typeModifier: f.dataTypeModifier };
}

const TYPED_QUERY = `SELECT 1::int2 AS i2, 2::int4 AS i4, 9007199254740993::int8 AS i8, 1.5::float4 AS f4, 2.25::float8 AS f8,
  true AS b, 'text'::text AS t, 'vc'::varchar(10) AS vc, '2024-03-01 12:34:56.789012+00'::timestamptz AS tz,
  '2024-03-01 12:34:56.5'::timestamp AS ts, 12345.6789::numeric(12,4) AS n, -0.001::numeric AS small, NULL::int AS nothing`;

describe('engine path', () => {
  let fx: ProxyFixture;
  let pg: Client;
  let engine: PostgresTextEngine;
  const seen: SessionContext[] = [];
  const router: Router = (sql, session) => {
    seen.push({ ...session, settings: new Map(session.settings) });
    return sql.includes(ENGINE_MARK) ? { target: 'engine' } : { target: 'postgres' };
  };
  const clients: Client[] = [];
  async function connect(binary = false): Promise<Client> {
    const c = new Client({ connectionString: fx.url, binary } as ConstructorParameters<typeof Client>[0]);
    await c.connect();
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    fx = await startProxyFixture({
      router,
      engine: {
        describe: (s) => engine.describe(s),
        execute: (s) => engine.execute(s),
      } as QueryEngine,
    });
    pg = new Client({ connectionString: fx.db.url });
    await pg.connect();
    engine = new PostgresTextEngine(pg);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await pg.end();
    await fx.stop();
  });

  it('answers a simple query like PostgreSQL does (names, types, values)', async () => {
    const c = await connect();
    const viaEngine = await c.query(`${ENGINE_MARK} ${TYPED_QUERY}`);
    const direct = await c.query(TYPED_QUERY);
    expect(viaEngine.fields.map((f) => [f.name, f.dataTypeID])).toEqual(direct.fields.map((f) => [f.name, f.dataTypeID]));
    expect(viaEngine.rows).toEqual(direct.rows);
    expect(viaEngine.command).toBe('SELECT');
    expect(viaEngine.rowCount).toBe(1);
  });

  it('answers extended queries in binary exactly as PostgreSQL does', async () => {
    const c = await connect(true);
    const viaEngine = await c.query(`${ENGINE_MARK} ${TYPED_QUERY} WHERE $1::int = 1`, [1]);
    const direct = await c.query(`${TYPED_QUERY} WHERE $1::int = 1`, [1]);
    expect(viaEngine.rows).toEqual(direct.rows);
    expect(viaEngine.rows[0].i8).toBe('9007199254740993');
  });

  it('converts binary parameters to text for the engine', async () => {
    const c = await connect(true);
    engine.calls = [];
    const r = await c.query(`${ENGINE_MARK} SELECT $1::int4 + 1 AS v, $2::text AS t`, [41, 'x']);
    expect(r.rows).toEqual([{ v: 42, t: 'x' }]);
    expect(engine.calls[0].params).toEqual(['41', 'x']);
  });

  it('mixes engine and PostgreSQL statements in one simple query string', async () => {
    const c = await connect();
    const results = (await c.query(`SELECT 1 AS a; ${ENGINE_MARK} SELECT 2 AS b; SELECT 3 AS c`)) as unknown as Array<{ rows: unknown[] }>;
    expect(results.map((r) => r.rows)).toEqual([[{ a: 1 }], [{ b: 2 }], [{ c: 3 }]]);
  });

  it('sends an SqlStateError with its SQLSTATE, detail and hint, and the session goes on', async () => {
    const c = await connect();
    await expect(c.query(`${ENGINE_MARK} /*unsupported*/ SELECT 1`)).rejects.toMatchObject({ code: '0A000', detail: 'detail here', hint: 'hint here' });
    await expect(c.query(`${ENGINE_MARK} /*unsupported*/ SELECT $1::int`, [1])).rejects.toMatchObject({ code: '0A000' });
    expect((await c.query(`${ENGINE_MARK} SELECT 5 AS v`)).rows).toEqual([{ v: 5 }]);
    expect((await c.query('SELECT 6 AS v')).rows).toEqual([{ v: 6 }]);
  });

  it('turns any other engine error into XX000 and logs it without the statement text', async () => {
    const c = await connect();
    await expect(c.query(`${ENGINE_MARK} /*crash*/ SELECT 1`)).rejects.toMatchObject({ code: 'XX000' });
    expect(fx.logs.some((l) => l.includes('tier engine failed'))).toBe(true);
    expect(fx.logs.join('\n')).not.toContain('secret-literal-4711');
    expect((await c.query('SELECT 7 AS v')).rows).toEqual([{ v: 7 }]);
  });

  it('gives the router the session settings and transaction state', async () => {
    const c = await connect();
    await c.query("SET TimeZone = 'America/New_York'");
    await c.query('BEGIN');
    seen.length = 0;
    await c.query(`${ENGINE_MARK} SELECT 1 AS x`);
    await c.query('COMMIT');
    expect(seen[0].settings.get('TimeZone')).toBe('America/New_York');
    expect(seen[0].settings.get('server_version')).toMatch(/^15/);
    expect(seen[0].inTransaction).toBe(true);
    expect(seen[0].user).toBe('strata_test');
    await c.query("SET strata.route = 'cold'");
    seen.length = 0;
    await c.query('SELECT 1');
    expect(seen[0].settings.get('strata.route')).toBe('cold');
  });

  it('keeps reply order in a pipeline mixing PostgreSQL and engine statements', async () => {
    const pgPart = [
      wire.encodeParse({ name: '', sql: 'SELECT 1', paramTypes: [] }),
      wire.encodeBind({ portal: '', statement: '', paramFormats: [], params: [], resultFormats: [] }),
      wire.encodeExecute({ portal: '', maxRows: 0 }),
    ];
    const enginePart = [
      wire.encodeParse({ name: 'e1', sql: `${ENGINE_MARK} SELECT 2 AS two`, paramTypes: [] }),
      wire.encodeBind({ portal: 'p1', statement: 'e1', paramFormats: [], params: [], resultFormats: [] }),
      wire.encodeDescribe({ kind: 'P', name: 'p1' }),
      wire.encodeExecute({ portal: 'p1', maxRows: 0 }),
    ];
    expect(await batchReplies(fx.port, fx.db.name, [...pgPart, ...enginePart, ...pgPart, wire.SYNC])).toEqual(['1', '2', 'D', 'C', '1', '2', 'T', 'D', 'C', '1', '2', 'D', 'C', 'Z']);
    expect(await batchReplies(fx.port, fx.db.name, [...enginePart, ...pgPart, wire.SYNC])).toEqual(['1', '2', 'T', 'D', 'C', '1', '2', 'D', 'C', 'Z']);
  });

  it('skips the rest of a mixed pipeline after an error, as PostgreSQL does', async () => {
    const failing = [
      // Volatile, so the division fails at Execute, not when the statement is planned at Bind.
      wire.encodeParse({ name: '', sql: 'SELECT 1 / (random() * 0)::int', paramTypes: [] }),
      wire.encodeBind({ portal: '', statement: '', paramFormats: [], params: [], resultFormats: [] }),
      wire.encodeExecute({ portal: '', maxRows: 0 }),
    ];
    const enginePart = [
      wire.encodeParse({ name: 'e2', sql: `${ENGINE_MARK} SELECT 2 AS two`, paramTypes: [] }),
      wire.encodeBind({ portal: 'p2', statement: 'e2', paramFormats: [], params: [], resultFormats: [] }),
      wire.encodeExecute({ portal: 'p2', maxRows: 0 }),
    ];
    engine.calls = [];
    expect(await batchReplies(fx.port, fx.db.name, [...failing, ...enginePart, wire.SYNC])).toEqual(['1', '2', 'E', 'Z']);
    expect(engine.calls).toEqual([]);
    const crash = [wire.encodeParse({ name: '', sql: `${ENGINE_MARK} /*unsupported*/ SELECT 1`, paramTypes: [] }), wire.encodeBind({ portal: '', statement: '', paramFormats: [], params: [], resultFormats: [] }), wire.encodeExecute({ portal: '', maxRows: 0 })];
    expect(await batchReplies(fx.port, fx.db.name, [...crash, ...failing, wire.SYNC])).toEqual(['1', '2', 'E', 'Z']);
  });

  it('suspends an engine portal at the Execute row limit and resumes it', async () => {
    const replies = await batchReplies(fx.port, fx.db.name, [
      wire.encodeParse({ name: 'g', sql: `${ENGINE_MARK} SELECT generate_series(1, 5) AS n`, paramTypes: [] }),
      wire.encodeBind({ portal: 'pg', statement: 'g', paramFormats: [], params: [], resultFormats: [] }),
      wire.encodeExecute({ portal: 'pg', maxRows: 2 }),
      wire.encodeExecute({ portal: 'pg', maxRows: 2 }),
      wire.encodeExecute({ portal: 'pg', maxRows: 2 }),
      wire.SYNC,
    ]);
    expect(replies).toEqual(['1', '2', 'D', 'D', 's', 'D', 'D', 's', 'D', 'C', 'Z']);
  });

  it('serves prepared engine statements reused with different parameters', async () => {
    const c = await connect();
    for (const v of [1, 2, 3]) {
      const r = await c.query({ name: 'eng', text: `${ENGINE_MARK} SELECT $1::int * 10 AS v`, values: [v] });
      expect(r.rows).toEqual([{ v: v * 10 }]);
    }
  });
});
