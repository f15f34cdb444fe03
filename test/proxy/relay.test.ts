// The proxy relaying to the real PostgreSQL, driven by node-postgres: the simple and
// extended protocols, prepared statements across pooled servers, transactions, COPY,
// cancel, errors and recovery, in both pool modes.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { startProxyFixture, type ProxyFixture } from '../support/proxy-fixture';

describe.each(['transaction', 'session'] as const)('relay in %s pooling', (poolMode) => {
  let fx: ProxyFixture;
  const clients: Client[] = [];

  async function connect(): Promise<Client> {
    const client = new Client({ connectionString: fx.url });
    await client.connect();
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    // Session pooling holds a server per client: that pool must fit every client here.
    fx = await startProxyFixture({ poolMode, poolSize: poolMode === 'session' ? 40 : 3 });
    const c = await connect();
    await c.query('CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2), seen timestamptz)');
    await c.query("INSERT INTO items SELECT g, 'item ' || g, g * 1.5, '2024-01-01T00:00:00Z'::timestamptz + g * interval '1 hour' FROM generate_series(1, 100) g");
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await fx.stop();
  });

  it('answers simple queries, several statements per string', async () => {
    const c = await connect();
    const results = (await c.query('SELECT 1 AS one; SELECT count(*)::int AS n FROM items; SELECT 3 AS three')) as unknown as Array<{ rows: unknown[] }>;
    expect(results.map((r) => r.rows)).toEqual([[{ one: 1 }], [{ n: 100 }], [{ three: 3 }]]);
  });

  it('answers extended queries with parameters, text and binary', async () => {
    const c = await connect();
    const r = await c.query('SELECT id, name, price FROM items WHERE id = ANY($1::int[]) ORDER BY id', [[3, 5]]);
    expect(r.rows).toEqual([
      { id: 3, name: 'item 3', price: '4.50' },
      { id: 5, name: 'item 5', price: '7.50' },
    ]);
    // Binary results: the relay passes PostgreSQL's binary rows through untouched.
    const bin = new Client({ connectionString: fx.url, binary: true } as ConstructorParameters<typeof Client>[0]);
    await bin.connect();
    clients.push(bin);
    const binary = await bin.query('SELECT $1::int4 + 1 AS v, $2::text AS t', [41, 'hi']);
    expect(binary.rows).toEqual([{ v: 42, t: 'hi' }]);
  });

  it('reuses a named prepared statement across transactions and pooled servers', async () => {
    const a = await connect();
    const b = await connect();
    for (let i = 1; i <= 20; i++) {
      const client = i % 2 ? a : b;
      const r = await client.query({ name: 'by-id', text: 'SELECT name FROM items WHERE id = $1', values: [i] });
      expect(r.rows).toEqual([{ name: `item ${i}` }]);
    }
    // A second statement with the same name on another client, different text: no clash.
    const r = await b.query({ name: 'other', text: 'SELECT $1::int * 2 AS d', values: [21] });
    expect(r.rows).toEqual([{ d: 42 }]);
  });

  it('keeps a transaction on one server until it ends', async () => {
    const c = await connect();
    const other = await connect();
    await c.query('BEGIN');
    await c.query("UPDATE items SET name = 'changed' WHERE id = 1");
    expect((await c.query('SELECT name FROM items WHERE id = 1')).rows).toEqual([{ name: 'changed' }]);
    expect((await other.query('SELECT name FROM items WHERE id = 1')).rows).toEqual([{ name: 'item 1' }]);
    await c.query('ROLLBACK');
    expect((await c.query('SELECT name FROM items WHERE id = 1')).rows).toEqual([{ name: 'item 1' }]);
  });

  it('reports a server error and the session recovers, inside and outside a transaction', async () => {
    const c = await connect();
    await expect(c.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
    expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    await expect(c.query('SELECT $1::int', ['not a number'])).rejects.toMatchObject({ code: '22P02' });
    expect((await c.query('SELECT $1::int AS v', [7])).rows).toEqual([{ v: 7 }]);
    await c.query('BEGIN');
    await expect(c.query('SELECT 1/0')).rejects.toMatchObject({ code: '22012' });
    await expect(c.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
    await c.query('ROLLBACK');
    expect((await c.query('SELECT 2 AS ok')).rows).toEqual([{ ok: 2 }]);
  });

  it('runs COPY FROM STDIN and COPY TO STDOUT', async () => {
    const c = await connect();
    await c.query('CREATE TABLE IF NOT EXISTS copy_target (id int, label text)');
    const rows = Array.from({ length: 5000 }, (_, i) => `${i}\tlabel ${i}\n`).join('');
    await pipeline(Readable.from([rows]), c.query(copyFrom('COPY copy_target FROM STDIN')));
    expect((await c.query('SELECT count(*)::int AS n FROM copy_target')).rows).toEqual([{ n: 5000 }]);
    const chunks: Buffer[] = [];
    await pipeline(
      c.query(copyTo('COPY (SELECT * FROM copy_target ORDER BY id) TO STDOUT')),
      new Writable({
        write(chunk: Buffer, _e, done) {
          chunks.push(chunk);
          done();
        },
      }),
    );
    expect(Buffer.concat(chunks).toString()).toBe(rows);
    await c.query('DROP TABLE copy_target');
  });

  it('cancels a long pg_sleep through the proxy key and the session goes on', async () => {
    const c = await connect();
    const started = Date.now();
    const sleeping = c.query('SELECT pg_sleep(30)');
    await new Promise((r) => setTimeout(r, 300));
    const canceller = new Client({ connectionString: fx.url });
    // node-postgres sends CancelRequest with the key the proxy gave this client.
    const pgClient = c as unknown as { processID: number; activeQuery: unknown };
    expect(pgClient.processID).toBeGreaterThan(0);
    (canceller as unknown as { cancel(target: Client, query: unknown): void }).cancel(c, pgClient.activeQuery);
    await expect(sleeping).rejects.toMatchObject({ code: '57014' });
    expect(Date.now() - started).toBeLessThan(10000);
    expect((await c.query('SELECT 1 AS after')).rows).toEqual([{ after: 1 }]);
  });

  it('pipelines many extended queries from many clients over a small pool', async () => {
    const many = await Promise.all(Array.from({ length: 8 }, () => connect()));
    const results = await Promise.all(
      many.flatMap((c, k) => Array.from({ length: 25 }, (_, i) => c.query('SELECT $1::int + $2::int AS s', [k, i]).then((r) => r.rows[0].s === k + i))),
    );
    expect(results.every(Boolean)).toBe(true);
  });

  it('tracks settings the client changes (ParameterStatus) and the router sees them', async () => {
    const c = await connect();
    await c.query("SET TimeZone = 'Asia/Tokyo'");
    expect((await c.query('SHOW TimeZone')).rows).toEqual([{ TimeZone: 'Asia/Tokyo' }]);
    expect((await c.query("SELECT '2024-01-01T00:00:00Z'::timestamptz::text AS t")).rows).toEqual([{ t: '2024-01-01 09:00:00+09' }]);
  });

  it('never lends a server left inside a dead client\'s transaction', async () => {
    const leaver = await connect();
    leaver.on('error', () => undefined);
    await leaver.query('CREATE TABLE IF NOT EXISTS leave_marker (v int)');
    await leaver.query('BEGIN');
    await leaver.query('INSERT INTO leave_marker VALUES (1)');
    await leaver.query("SET LOCAL application_name = 'leaver'");
    (leaver as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const others = await Promise.all(Array.from({ length: 3 }, () => connect()));
    for (const c of others) {
      expect((await c.query('SELECT count(*)::int AS n FROM leave_marker')).rows).toEqual([{ n: 0 }]);
      expect((await c.query("SELECT current_setting('transaction_isolation') IS NOT NULL AS ok, now() = statement_timestamp() AS fresh")).rows).toEqual([{ ok: true, fresh: true }]);
    }
  });

  it('does not leak one client\'s settings to the next', async () => {
    const first = await connect();
    await first.query("SET search_path = 'nowhere'");
    await first.query('CREATE TEMP TABLE only_mine (v int)');
    await first.end();
    clients.splice(clients.indexOf(first), 1);
    await new Promise((r) => setTimeout(r, 100));
    const next = await connect();
    const r = await next.query("SELECT current_setting('search_path') AS sp, to_regclass('only_mine') IS NULL AS no_temp");
    // Session pooling resets the server (DISCARD ALL) before lending it again. Transaction
    // pooling cannot carry session state (temp tables) and says so in proxy/README.md.
    if (poolMode === 'session') {
      expect(r.rows[0].no_temp).toBe(true);
      expect(r.rows[0].sp).toBe('"$user", public');
    }
  });
});
