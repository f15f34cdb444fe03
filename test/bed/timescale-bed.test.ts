// What the two database test beds can do, checked through the production driver (`pg`
// + pg-copy-streams): PGlite + TimescaleDB behind pglite-socket (the hypertable path)
// and the local PostgreSQL 15 (the native-partitioning path). Each capability the
// tierer relies on has a test; where the bed cannot do something, a test pins down how
// it fails, so a suite that starts depending on it learns why.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { createTestDatabase, TestDatabase } from '../support/postgres';
import { startTimescale, TimescaleEndpoint } from '../support/timescale-endpoint';

const HOUR_MS = 3_600_000;
const T0 = Date.parse('2024-01-01T00:00:00Z');
// Large enough that pg sends it in more than one TCP read (pglite-socket's weak spot).
const BIG_PARAM_CHARS = 300_000;
const BIG_COPY_ROWS = 100_000;
// COPY text output for timestamptz depends on the session time zone.
const SESSION_SETUP = "SET TIME ZONE 'UTC'";

interface Bed {
  client(): Client;
  /** Creates `name (time timestamptz not null, host text, v double precision)`, hypertable or plain. */
  createTable(name: string): Promise<void>;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** One row a minute for `hours` hours from T0: host h0..h2, v = minute index. */
async function fillHours(client: Client, table: string, hours: number): Promise<number> {
  const res = await client.query(
    `INSERT INTO ${table} (time, host, v)
     SELECT $1::timestamptz + make_interval(mins => i), 'h' || (i % 3), i
     FROM generate_series(0, $2::int - 1) AS i`,
    [iso(T0), hours * 60],
  );
  return res.rowCount ?? 0;
}

async function count(client: Client, sql: string, params: unknown[] = []): Promise<number> {
  const res = await client.query<{ n: string }>(`SELECT count(*) AS n FROM (${sql}) AS q`, params);
  return Number(res.rows[0].n);
}

async function copyOut(client: Client, sql: string): Promise<{ rowCount: number; data: Buffer }> {
  const parts: Buffer[] = [];
  const stream = client.query(copyTo(sql));
  await pipeline(
    stream,
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        parts.push(chunk);
        done();
      },
    }),
  );
  return { rowCount: stream.rowCount, data: Buffer.concat(parts) };
}

async function copyIn(client: Client, sql: string, payload: string): Promise<number> {
  const stream = client.query(copyFrom(sql));
  await pipeline(Readable.from([Buffer.from(payload)]), stream);
  return stream.rowCount;
}

function copyLines(rows: number, startMs: number): string {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) lines.push(`${iso(startMs + i * 1000)}\th${i % 3}\t${i}\n`);
  return lines.join('');
}

/** Capabilities both beds must have; each test works on its own table. */
function describeCommonCapabilities(bed: () => Bed): void {
  test('pg_try_advisory_lock / pg_advisory_unlock', async () => {
    const c = bed().client();
    const got = await c.query('SELECT pg_try_advisory_lock(7001) AS locked');
    expect(got.rows[0].locked).toBe(true);
    const released = await c.query('SELECT pg_advisory_unlock(7001) AS released');
    expect(released.rows[0].released).toBe(true);
    const again = await c.query('SELECT pg_advisory_unlock(7001) AS released');
    expect(again.rows[0].released).toBe(false);
  });

  test('COPY t FROM STDIN (pg-copy-streams from), a few rows and 100k rows', async () => {
    const c = bed().client();
    await bed().createTable('copy_in');
    expect(await copyIn(c, 'COPY copy_in (time, host, v) FROM STDIN', copyLines(3, T0))).toBe(3);
    const start = T0 + 24 * HOUR_MS;
    expect(await copyIn(c, 'COPY copy_in FROM STDIN', copyLines(BIG_COPY_ROWS, start))).toBe(BIG_COPY_ROWS);
    expect(await count(c, 'SELECT 1 FROM copy_in')).toBe(3 + BIG_COPY_ROWS);
    const last = await c.query('SELECT max(time) AS t, max(v) AS v FROM copy_in');
    expect(last.rows[0].t.getTime()).toBe(start + (BIG_COPY_ROWS - 1) * 1000);
    expect(last.rows[0].v).toBe(BIG_COPY_ROWS - 1);
  });

  test('COPY FROM STDIN reports bad input as a SQL error and keeps the connection usable', async () => {
    const c = bed().client();
    await bed().createTable('copy_bad');
    await expect(copyIn(c, 'COPY copy_bad FROM STDIN', 'not-a-time\th\t1\n')).rejects.toMatchObject({ code: '22007' });
    expect(await count(c, 'SELECT 1 FROM copy_bad')).toBe(0);
    await expect(copyIn(c, 'COPY copy_missing FROM STDIN', copyLines(1, T0))).rejects.toMatchObject({ code: '42P01' });
    expect(await count(c, 'SELECT 1 FROM copy_bad')).toBe(0);
  });

  test('COPY FROM STDIN (FORMAT binary) takes what COPY TO STDOUT (FORMAT binary) gave', async () => {
    const c = bed().client();
    await bed().createTable('bin_src');
    await bed().createTable('bin_dst');
    await fillHours(c, 'bin_src', 2);
    const out = await copyOut(c, 'COPY (SELECT time, host, v FROM bin_src) TO STDOUT (FORMAT binary)');
    const stream = c.query(copyFrom('COPY bin_dst (time, host, v) FROM STDIN (FORMAT binary)'));
    await pipeline(Readable.from([out.data]), stream);
    expect(stream.rowCount).toBe(120);
    const diff = await count(c, '(SELECT * FROM bin_src EXCEPT SELECT * FROM bin_dst) UNION ALL (SELECT * FROM bin_dst EXCEPT SELECT * FROM bin_src)');
    expect(diff).toBe(0);
  });

  test('COPY (SELECT ...) TO STDOUT, text', async () => {
    const c = bed().client();
    await bed().createTable('copy_text');
    await fillHours(c, 'copy_text', 1);
    const out = await copyOut(c, 'COPY (SELECT time, host, v FROM copy_text ORDER BY time LIMIT 2) TO STDOUT');
    expect(out.rowCount).toBe(2);
    expect(out.data.toString()).toBe('2024-01-01 00:00:00+00\th0\t0\n2024-01-01 00:01:00+00\th1\t1\n');
  });

  test('COPY (SELECT ...) TO STDOUT (FORMAT binary)', async () => {
    const c = bed().client();
    await bed().createTable('copy_bin');
    await fillHours(c, 'copy_bin', 3);
    const out = await copyOut(c, 'COPY (SELECT time, host, v FROM copy_bin ORDER BY time) TO STDOUT (FORMAT binary)');
    expect(out.rowCount).toBe(180);
    expect(out.data.subarray(0, 11)).toEqual(Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'));
    // Trailer: a field count of -1.
    expect(out.data.readInt16BE(out.data.length - 2)).toBe(-1);
    // First tuple: 3 fields, then timestamptz as 8-byte microseconds since 2000-01-01.
    const firstTuple = 19;
    expect(out.data.readInt16BE(firstTuple)).toBe(3);
    expect(out.data.readInt32BE(firstTuple + 2)).toBe(8);
    const micros = out.data.readBigInt64BE(firstTuple + 6);
    expect(micros).toBe(BigInt(T0 - Date.parse('2000-01-01T00:00:00Z')) * 1000n);
  });

  test('COPY (DELETE ... RETURNING *) TO STDOUT: rows back after ROLLBACK, gone after COMMIT', async () => {
    const c = bed().client();
    await bed().createTable('copy_move');
    await fillHours(c, 'copy_move', 3);
    const cutoff = `'${iso(T0 + HOUR_MS)}'`;
    const move = `COPY (DELETE FROM copy_move WHERE time < ${cutoff} RETURNING *) TO STDOUT`;

    await c.query('BEGIN');
    const rolledBack = await copyOut(c, move);
    expect(rolledBack.rowCount).toBe(60);
    expect(await count(c, `SELECT 1 FROM copy_move WHERE time < ${cutoff}`)).toBe(0);
    await c.query('ROLLBACK');
    expect(await count(c, `SELECT 1 FROM copy_move WHERE time < ${cutoff}`)).toBe(60);

    await c.query('BEGIN');
    const moved = await copyOut(c, move);
    await c.query('COMMIT');
    expect(moved.rowCount).toBe(60);
    const lines = moved.data.toString().trimEnd().split('\n').sort();
    expect(lines).toHaveLength(60);
    expect(lines[0]).toBe('2024-01-01 00:00:00+00\th0\t0');
    expect(await count(c, `SELECT 1 FROM copy_move WHERE time < ${cutoff}`)).toBe(0);
    expect(await count(c, 'SELECT 1 FROM copy_move')).toBe(120);
  });

  test('ALTER TABLE ... ADD COLUMN, then write and read it', async () => {
    const c = bed().client();
    await bed().createTable('add_col');
    await fillHours(c, 'add_col', 2);
    await c.query('ALTER TABLE add_col ADD COLUMN labels jsonb');
    await c.query(`INSERT INTO add_col (time, host, v, labels) VALUES ($1, 'h9', 1, '{"zone":"a"}')`, [iso(T0)]);
    const res = await c.query('SELECT labels FROM add_col WHERE host = $1', ['h9']);
    expect(res.rows).toEqual([{ labels: { zone: 'a' } }]);
    expect(await count(c, 'SELECT 1 FROM add_col WHERE labels IS NULL')).toBe(120);
  });

  test(`a ${BIG_PARAM_CHARS}-character bind parameter`, async () => {
    const c = bed().client();
    const res = await c.query('SELECT length($1::text) AS n', ['x'.repeat(BIG_PARAM_CHARS)]);
    expect(res.rows[0].n).toBe(BIG_PARAM_CHARS);
  });
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query(SESSION_SETUP);
  return client;
}

describe('PGlite + TimescaleDB through pglite-socket (test/support/pglite-timescale-server.js)', () => {
  let server: TimescaleEndpoint;
  let client: Client;

  beforeAll(async () => {
    server = await startTimescale();
    client = await connect(server.connectionString);
  });

  afterAll(async () => {
    await client?.end();
    await server?.stop();
  });

  const bed = (): Bed => ({
    client: () => client,
    async createTable(name) {
      await client.query(`CREATE TABLE ${name} (time timestamptz NOT NULL, host text, v double precision)`);
      await client.query(
        `SELECT create_hypertable($1::regclass, 'time', chunk_time_interval => interval '1 hour', if_not_exists => true)`,
        [name],
      );
    },
  });

  describeCommonCapabilities(bed);

  test('server facts: extversion, and PGlite quirks a test may trip over', async () => {
    const ext = await client.query("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'");
    expect(ext.rows[0].extversion).toMatch(/^2\.23\./);
    const who = await client.query('SELECT current_database() AS db, pg_backend_pid() AS pid, current_user AS usr');
    // PGlite has one backend and one database whatever the connection string says.
    expect(who.rows[0]).toEqual({ db: 'template1', pid: 0, usr: 'postgres' });
  });

  test("create_hypertable('t', 'time', chunk_time_interval => '1 hour', if_not_exists => true) is idempotent", async () => {
    await bed().createTable('hyper');
    const again = await client.query(
      `SELECT create_hypertable('hyper', 'time', chunk_time_interval => interval '1 hour', if_not_exists => true) AS r`,
    );
    expect(again.rows[0].r).toMatch(/,public,hyper,f\)$/);
    const dims = await client.query(
      `SELECT column_name, time_interval FROM timescaledb_information.dimensions WHERE hypertable_name = 'hyper'`,
    );
    expect(dims.rows).toEqual([{ column_name: 'time', time_interval: { hours: 1 } }]);
  });

  test('show_chunks, timescaledb_information.chunks and _timescaledb_catalog ranges', async () => {
    await bed().createTable('ranges');
    await fillHours(client, 'ranges', 5);
    const shown = await client.query<{ c: string }>("SELECT show_chunks('ranges')::text AS c");
    expect(shown.rows).toHaveLength(5);

    const info = await client.query(
      `SELECT chunk_schema || '.' || chunk_name AS c, range_start, range_end
       FROM timescaledb_information.chunks WHERE hypertable_name = 'ranges' ORDER BY range_start`,
    );
    expect(info.rows.map((r) => r.c).sort()).toEqual(shown.rows.map((r) => r.c).sort());
    info.rows.forEach((r, i) => {
      expect(r.range_start.getTime()).toBe(T0 + i * HOUR_MS);
      expect(r.range_end.getTime()).toBe(T0 + (i + 1) * HOUR_MS);
    });

    // The raw catalog keeps slice bounds as microseconds since the Unix epoch.
    const catalog = await client.query(
      `SELECT c.schema_name || '.' || c.table_name AS c, s.range_start::text AS lo, s.range_end::text AS hi
       FROM _timescaledb_catalog.chunk c
       JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id
       JOIN _timescaledb_catalog.chunk_constraint cc ON cc.chunk_id = c.id
       JOIN _timescaledb_catalog.dimension_slice s ON s.id = cc.dimension_slice_id
       WHERE h.table_name = 'ranges' AND NOT c.dropped ORDER BY s.range_start`,
    );
    expect(catalog.rows.map((r) => r.c)).toEqual(info.rows.map((r) => r.c));
    expect(catalog.rows[0]).toMatchObject({ lo: String(T0 * 1000), hi: String((T0 + HOUR_MS) * 1000) });
  });

  test('time_bucket', async () => {
    await bed().createTable('buckets');
    await fillHours(client, 'buckets', 3);
    const res = await client.query(
      `SELECT time_bucket('1 hour', time) AS b, count(*)::int AS n FROM buckets GROUP BY 1 ORDER BY 1`,
    );
    expect(res.rows.map((r) => [r.b.getTime(), r.n])).toEqual([
      [T0, 60],
      [T0 + HOUR_MS, 60],
      [T0 + 2 * HOUR_MS, 60],
    ]);
  });

  test('drop_chunks(older_than => $1::timestamptz)', async () => {
    await bed().createTable('retention');
    await fillHours(client, 'retention', 5);
    const dropped = await client.query<{ c: string }>(
      "SELECT drop_chunks('retention', older_than => $1::timestamptz)::text AS c",
      [iso(T0 + 2 * HOUR_MS)],
    );
    expect(dropped.rows).toHaveLength(2);
    const left = await client.query<{ c: string }>("SELECT show_chunks('retention')::text AS c");
    expect(left.rows).toHaveLength(3);
    expect(left.rows.map((r) => r.c)).not.toContain(dropped.rows[0].c);
    expect(await count(client, 'SELECT 1 FROM retention')).toBe(180);
    expect(await count(client, 'SELECT 1 FROM retention WHERE time < $1', [iso(T0 + 2 * HOUR_MS)])).toBe(0);
  });

  test('DROP TABLE of an emptied chunk: the TimescaleDB catalog follows', async () => {
    await bed().createTable('chunk_drop');
    await fillHours(client, 'chunk_drop', 2);
    const first = await client.query<{ c: string; id: number }>(
      `SELECT c.schema_name || '.' || c.table_name AS c, c.id
       FROM _timescaledb_catalog.chunk c JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id
       WHERE h.table_name = 'chunk_drop' ORDER BY c.id LIMIT 1`,
    );
    const chunk = first.rows[0].c;
    await client.query(`DELETE FROM ${chunk}`);
    await client.query(`DROP TABLE ${chunk}`);

    const shown = await client.query<{ c: string }>("SELECT show_chunks('chunk_drop')::text AS c");
    expect(shown.rows.map((r) => r.c)).not.toContain(chunk);
    expect(shown.rows).toHaveLength(1);
    expect(await count(client, 'SELECT 1 FROM _timescaledb_catalog.chunk WHERE id = $1', [first.rows[0].id])).toBe(0);
    expect(await count(client, "SELECT 1 FROM timescaledb_information.chunks WHERE hypertable_name = 'chunk_drop'")).toBe(1);
    // Writing into the dropped range again creates a new chunk.
    await client.query("INSERT INTO chunk_drop VALUES ($1, 'h0', 0)", [iso(T0)]);
    expect(await count(client, "SELECT show_chunks('chunk_drop')")).toBe(2);
  });

  test('COPY <hypertable> TO STDOUT copies no rows (they live in the chunks): copy a SELECT', async () => {
    await bed().createTable('copy_whole');
    await fillHours(client, 'copy_whole', 1);
    const whole = await copyOut(client, 'COPY copy_whole TO STDOUT');
    expect(whole.rowCount).toBe(0);
    const selected = await copyOut(client, 'COPY (SELECT * FROM copy_whole) TO STDOUT');
    expect(selected.rowCount).toBe(60);
  });

  test('ALTER TABLE ... ADD COLUMN on a hypertable reaches its existing chunks', async () => {
    await bed().createTable('chunk_cols');
    await fillHours(client, 'chunk_cols', 3);
    await client.query('ALTER TABLE chunk_cols ADD COLUMN unit text');
    const withColumn = await client.query(
      `SELECT count(*)::int AS n FROM timescaledb_information.chunks ch
       JOIN information_schema.columns col
         ON col.table_schema = ch.chunk_schema AND col.table_name = ch.chunk_name AND col.column_name = 'unit'
       WHERE ch.hypertable_name = 'chunk_cols'`,
    );
    expect(withColumn.rows[0].n).toBe(3);
  });

  test('one client at a time: a second connection waits until the first closes', async () => {
    // The suite's client would hold the only slot: this test uses its own two.
    await client.end();
    const first = await connect(server.connectionString);
    const second = new Client({ connectionString: server.connectionString });
    let secondConnected = false;
    const connecting = second.connect().then(() => {
      secondConnected = true;
    });
    try {
      await new Promise((done) => setTimeout(done, 500));
      expect(secondConnected).toBe(false);
    } finally {
      await first.end();
    }
    try {
      await connecting;
      expect((await second.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await second.end();
      client = await connect(server.connectionString);
    }
  });

  test('a closed client leaves no transaction, advisory lock or temp table to the next', async () => {
    // The suite's own client is closed for this test and reopened after it.
    await client.end();
    const first = await connect(server.connectionString);
    await first.query('SELECT pg_advisory_lock(7002)');
    await first.query('CREATE TEMP TABLE scratch (x int)');
    await first.query('BEGIN');
    await first.query('CREATE TABLE half_done (x int)');
    try {
      await first.end();
    } finally {
      client = await connect(server.connectionString);
    }

    const state = await client.query(
      `SELECT to_regclass('half_done') AS half_done, to_regclass('scratch') AS scratch,
              (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory') AS advisory_locks`,
    );
    expect(state.rows[0]).toEqual({ half_done: null, scratch: null, advisory_locks: 0 });
  });
});

describe('limits of unmodified pglite-socket 0.0.19 (server --raw)', () => {
  // Each failing case aborts PGlite's WASM instance, so each gets its own server.
  let server: TimescaleEndpoint | undefined;

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function rawClient(): Promise<Client> {
    server = await startTimescale({ raw: true });
    const client = new Client({ connectionString: server.connectionString });
    // The abort also surfaces as a client 'error' event; without a listener it throws.
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  async function expectAborted(attempt: Promise<unknown>): Promise<void> {
    await expect(attempt).rejects.toThrow(/Connection terminated unexpectedly|ECONNRESET/);
    expect(await server!.exited).toBe(70);
    expect(server!.stderr()).toContain('RuntimeError: unreachable');
  }

  test('a message split across TCP reads aborts PGlite', async () => {
    const client = await rawClient();
    await expectAborted(client.query('SELECT length($1::text) AS n', ['x'.repeat(BIG_PARAM_CHARS)]));
  });

  test('COPY ... FROM STDIN aborts PGlite, even for one row', async () => {
    const client = await rawClient();
    await client.query('CREATE TABLE raw_copy (time timestamptz NOT NULL, v int)');
    await expectAborted(copyIn(client, 'COPY raw_copy FROM STDIN', `${iso(T0)}\t1\n`));
  });

  test('session state of a closed client leaks to the next one', async () => {
    const first = await rawClient();
    await first.query('SELECT pg_advisory_lock(7003)');
    await first.query('BEGIN');
    await first.query('CREATE TABLE leaked (x int)');
    await first.end();

    const second = new Client({ connectionString: server!.connectionString });
    await second.connect();
    const state = await second.query(
      `SELECT to_regclass('leaked')::text AS leaked,
              (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory') AS advisory_locks`,
    );
    expect(state.rows[0]).toEqual({ leaked: 'leaked', advisory_locks: 1 });
    await second.end();
  });
});

describe('startTimescale({ dataDir })', () => {
  let dir: string;
  let server: TimescaleEndpoint | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-pglite-'));
  });

  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a hypertable and its rows survive a stop and restart', async () => {
    server = await startTimescale({ dataDir: dir });
    let client = await connect(server.connectionString);
    await client.query('CREATE TABLE kept (time timestamptz NOT NULL, v int)');
    await client.query("SELECT create_hypertable('kept', 'time', chunk_time_interval => interval '1 hour')");
    await client.query('INSERT INTO kept SELECT $1::timestamptz + make_interval(mins => i), i FROM generate_series(0, 119) i', [
      iso(T0),
    ]);
    await client.end();
    await server.stop();
    expect(await server.exited).toBe(0);

    server = await startTimescale({ dataDir: dir });
    client = await connect(server.connectionString);
    try {
      expect(await count(client, 'SELECT 1 FROM kept')).toBe(120);
      expect(await count(client, "SELECT show_chunks('kept')")).toBe(2);
    } finally {
      await client.end();
    }
  });
});

describe('local PostgreSQL 15 (test/support/postgres.ts)', () => {
  let db: TestDatabase;
  let client: Client;

  beforeAll(async () => {
    db = await createTestDatabase('strata_bed');
    client = await connect(db.url);
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  const bed = (): Bed => ({
    client: () => client,
    async createTable(name) {
      await client.query(`CREATE TABLE ${name} (time timestamptz NOT NULL, host text, v double precision)`);
    },
  });

  describeCommonCapabilities(bed);

  test('server facts: PostgreSQL 15, its own database, no timescaledb', async () => {
    const res = await client.query(
      `SELECT current_setting('server_version_num')::int / 10000 AS major, current_database() AS db,
              (SELECT count(*)::int FROM pg_available_extensions WHERE name = 'timescaledb') AS tsdb`,
    );
    expect(res.rows[0]).toEqual({ major: 15, db: db.name, tsdb: 0 });
  });

  test('native range partitions: bounds from the catalog, DROP TABLE of an empty partition', async () => {
    await client.query('CREATE TABLE parts (time timestamptz NOT NULL, v int) PARTITION BY RANGE (time)');
    for (let h = 0; h < 3; h++) {
      await client.query(
        `CREATE TABLE parts_${h} PARTITION OF parts FOR VALUES FROM ('${iso(T0 + h * HOUR_MS)}') TO ('${iso(T0 + (h + 1) * HOUR_MS)}')`,
      );
    }
    await client.query("INSERT INTO parts SELECT $1::timestamptz + make_interval(mins => i), i FROM generate_series(0, 179) i", [
      iso(T0),
    ]);
    const bounds = await client.query(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'parts'::regclass ORDER BY c.relname`,
    );
    expect(bounds.rows[0]).toEqual({
      name: 'parts_0',
      bound: "FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-01-01 01:00:00+00')",
    });

    await client.query('DELETE FROM parts_0');
    await client.query('DROP TABLE parts_0');
    expect(await count(client, "SELECT 1 FROM pg_inherits WHERE inhparent = 'parts'::regclass")).toBe(2);
    expect(await count(client, 'SELECT 1 FROM parts')).toBe(120);
    await expect(client.query('INSERT INTO parts VALUES ($1, 0)', [iso(T0)])).rejects.toMatchObject({ code: '23514' });
  });

  test("date_bin with TimescaleDB's default origin matches time_bucket's hourly buckets", async () => {
    await bed().createTable('bins');
    await fillHours(client, 'bins', 2);
    const res = await client.query(
      `SELECT date_bin('1 hour', time, timestamptz '2000-01-03 00:00:00+00') AS b, count(*)::int AS n
       FROM bins GROUP BY 1 ORDER BY 1`,
    );
    expect(res.rows.map((r) => [r.b.getTime(), r.n])).toEqual([
      [T0, 60],
      [T0 + HOUR_MS, 60],
    ]);
  });
});
