import { Client } from 'pg';

/** The slice of node-postgres's connection a submittable drives. */
interface PgConnection {
  parse(m: { name: string; text: string; types: number[] }): void;
  bind(m: { portal: string; statement: string; values: unknown[] }): void;
  execute(m: { portal: string; rows: number }): void;
  sync(): void;
}
import { to as copyTo } from 'pg-copy-streams';
import { resolveProxyConfig } from '../../proxy/src/config';
import { startTieredProxy, type RunningTieredProxy } from '../../proxy/src/tiered-proxy';
import { createTierEngine, loadCatalogSnapshot } from '../../proxy/src/engine';
import { createRouter, loadSqlParser, parseStatements } from '../../proxy/src/router';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startCorpusBed, type CorpusBed } from './corpus/corpus-bed';

/**
 * The engine in the client's own session: every way of reading a tiered table through the
 * proxy — transaction blocks at each isolation level, views, cursors, COPY, CREATE TABLE
 * AS, INSERT … SELECT — answers what PostgreSQL holding every row answers; what cannot be
 * answered exactly is refused with 0A000, never partial.
 */
const api = { loadSqlParser, parseStatements, createRouter, createTierEngine, loadCatalogSnapshot };
const PASSWORD = 'in-session-secret';
const W = '2026-01-04T13:37:00Z';

describe('tiered reads in the client session', () => {
  let bed: CorpusBed;
  let proxy: RunningTieredProxy;
  let other: TestDatabase;
  let url: (db?: string) => string;
  let total: string;

  beforeAll(async () => {
    bed = await startCorpusBed(api);
    await bed.tierTo(W);
    other = await createTestDatabase('strata_in_session_other');
    const pino = (await import('pino')).default;
    proxy = await startTieredProxy(resolveProxyConfig({ listen: '127.0.0.1:0', backendUrl: bed.tiered.pgUrl, users: { postgres: PASSWORD } }), {
      pgUrl: bed.tiered.pgUrl,
      cold: bed.tiered.cold,
      coldDatabase: bed.tiered.database,
      logger: pino({ level: process.env.STRATA_TEST_LOG ?? 'silent' }),
    });
    const database = new URL(bed.tiered.pgUrl).pathname.slice(1);
    url = (db = database) => `postgres://postgres:${PASSWORD}@${proxy.host}:${proxy.port}/${db}`;
    total = (await one(bed.reference.url, 'SELECT count(*)::text AS n FROM metrics_events')).n;
  }, 180_000);

  afterAll(async () => {
    await proxy?.close();
    await other?.drop();
    await bed?.close();
  });

  async function one(connection: string, sql: string): Promise<Record<string, string>> {
    const c = new Client({ connectionString: connection });
    await c.connect();
    try {
      return (await c.query(sql)).rows[0];
    } finally {
      await c.end();
    }
  }

  async function withProxy<T>(work: (c: Client) => Promise<T>, db?: string): Promise<T> {
    const c = new Client({ connectionString: url(db) });
    await c.connect();
    try {
      return await work(c);
    } finally {
      await c.end();
    }
  }

  const COUNT = 'SELECT count(*)::text AS n FROM metrics_events';

  it('sees both tiers in autocommit and in transaction blocks at every isolation level', async () => {
    expect(Number(total)).toBeGreaterThan(0);
    await withProxy(async (c) => {
      expect((await c.query(COUNT)).rows[0].n).toBe(total);
      for (const begin of ['BEGIN', 'BEGIN ISOLATION LEVEL READ COMMITTED', 'BEGIN ISOLATION LEVEL REPEATABLE READ', 'BEGIN ISOLATION LEVEL SERIALIZABLE']) {
        await c.query(begin);
        expect((await c.query(COUNT)).rows[0].n).toBe(total);
        expect((await c.query(`${COUNT} WHERE host = 'h1'`)).rows[0].n).toBe((await one(bed.reference.url, `${COUNT} WHERE host = 'h1'`)).n);
        await c.query('COMMIT');
      }
    });
  });

  it('reads both tiers in READ ONLY transactions (cold rows as parameters, no temporary tables)', async () => {
    const grouped = `SELECT host, count(*)::text AS n, max(value)::text AS m FROM metrics_events GROUP BY host ORDER BY host`;
    const raw = `SELECT time::text AS t, host, value::text AS v FROM metrics_events WHERE time >= '2026-01-02T00:00:00Z' AND time < '2026-01-02T00:03:00Z' ORDER BY time, host, value`;
    const ref = new Client({ connectionString: bed.reference.url });
    await ref.connect();
    try {
      const [expectGrouped, expectRaw] = [(await ref.query(grouped)).rows, (await ref.query(raw)).rows];
      expect(expectRaw.length).toBeGreaterThan(0);
      await withProxy(async (c) => {
        await c.query('BEGIN READ ONLY');
        expect((await c.query(COUNT)).rows[0].n).toBe(total);
        expect((await c.query(grouped)).rows).toEqual(expectGrouped);
        expect((await c.query(raw)).rows).toEqual(expectRaw);
        await c.query('COMMIT');
        await c.query('SET default_transaction_read_only = on');
        expect((await c.query(COUNT)).rows[0].n).toBe(total);
        expect((await c.query({ text: `${COUNT} WHERE time < $1`, values: ['2026-01-03T00:00:00Z'] })).rows[0].n).toBe(
          (await ref.query(`${COUNT} WHERE time < '2026-01-03T00:00:00Z'`)).rows[0].n,
        );
        await c.query('RESET default_transaction_read_only');
      });
    } finally {
      await ref.end();
    }
  });

  it('answers a role without the TEMPORARY privilege: cold rows as parameters, as in a READ ONLY block', async () => {
    // PostgreSQL grants TEMPORARY to PUBLIC by default; a hardened database revokes it. The
    // engine's temporary tables (cold rows, hot partials) would then fail a plain SELECT with 42501.
    const role = `strata_notemp_${process.pid}`;
    const queries = [
      `SELECT host, count(*)::text AS n, max(value)::text AS m FROM metrics_events GROUP BY host ORDER BY host`,
      `SELECT date_trunc('hour', time)::text AS h, percentile_cont(0.5) WITHIN GROUP (ORDER BY value)::text AS p FROM metrics_events GROUP BY 1 ORDER BY 1`,
      `SELECT time::text AS t, host, value::text AS v FROM metrics_events WHERE time >= '2026-01-02T00:00:00Z' AND time < '2026-01-02T00:03:00Z' ORDER BY time, host, value`,
      `SELECT time::text AS t, host FROM metrics_events ORDER BY time DESC, host LIMIT 5`,
    ];
    // Roles are the cluster's; the tiered and the reference database may share one.
    const admins = [bed.tiered.pgUrl, bed.reference.url].map((u) => ({ db: new URL(u).pathname.slice(1), c: new Client({ connectionString: u }) }));
    for (const a of admins) await a.c.connect();
    await admins[0].c.query(`CREATE ROLE ${role}`);
    const asRole = async (c: Client, sql: string) => {
      await c.query('BEGIN');
      await c.query(`SET LOCAL ROLE ${role}`);
      try {
        return (await c.query(sql)).rows;
      } finally {
        await c.query('ROLLBACK');
      }
    };
    const ref = new Client({ connectionString: bed.reference.url });
    await ref.connect();
    try {
      for (const a of admins) {
        await a.c.query(`GRANT SELECT ON metrics_events TO ${role}`);
        await a.c.query(`REVOKE TEMPORARY ON DATABASE ${a.db} FROM PUBLIC`);
      }
      await expect(asRole(ref, 'CREATE TEMP TABLE t (x int)')).rejects.toMatchObject({ code: '42501' });
      await withProxy(async (c) => {
        for (const sql of queries) {
          const expected = await asRole(ref, sql);
          expect(expected.length).toBeGreaterThan(0);
          expect([sql, await asRole(c, sql)]).toEqual([sql, expected]);
        }
        // In autocommit: the engine's own block takes the session's role.
        for (const s of [c, ref]) await s.query(`SET ROLE ${role}`);
        for (const sql of queries) expect([sql, (await c.query(sql)).rows]).toEqual([sql, (await ref.query(sql)).rows]);
        for (const s of [c, ref]) await s.query('RESET ROLE');
      });
    } finally {
      await ref.end();
      for (const a of admins) {
        await a.c.query(`GRANT TEMPORARY ON DATABASE ${a.db} TO PUBLIC`);
        await a.c.query(`DROP OWNED BY ${role}`);
      }
      await admins[0].c.query(`DROP ROLE ${role}`);
      for (const a of admins) await a.c.end();
    }
  });

  it('reads only the first rows of each tier for ORDER BY … LIMIT (top-N)', async () => {
    const cases = [
      `SELECT time::text AS t, host, value::text AS v FROM metrics_events WHERE time < '2026-01-03' ORDER BY time DESC, host, value LIMIT 7 OFFSET 2`,
      `SELECT time::text AS t, host, value::text AS v FROM metrics_events ORDER BY time, host, value LIMIT 5`,
      `SELECT time::text AS t, value::text AS v FROM metrics_events WHERE host = 'h2' AND time < '2026-01-04' ORDER BY time DESC NULLS LAST, value LIMIT 3`,
    ];
    await withProxy(async (c) => {
      for (const sql of cases) {
        const plan = (await c.query(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
        expect(plan).toMatch(/top-N/);
        expect(plan).toMatch(/ClickHouse: .* ORDER BY .* LIMIT \d+/);
        expect((await c.query(sql)).rows).toEqual((await new Promise<Record<string, string>[]>((resolve, reject) => {
          const ref = new Client({ connectionString: bed.reference.url });
          ref.connect().then(() => ref.query(sql)).then((r) => resolve(r.rows), reject).finally(() => ref.end());
        })));
      }
    });
  });

  it('reads an extended-protocol portal a few rows at a time across Syncs inside a transaction, with statements in between', async () => {
    /** One extended round as a node-postgres submittable: the given messages, then Sync; rows and how the portal ended. */
    const round = (c: Client, send: (cn: PgConnection) => void) =>
      new Promise<{ rows: string[][]; end: string }>((resolve, reject) => {
        const out = { rows: [] as string[][], end: '' };
        let failed: unknown;
        c.query({
          submit: (cn: PgConnection) => {
            send(cn);
            cn.sync();
          },
          handleRowDescription: () => undefined,
          handleDataRow: (m: { fields: string[] }) => out.rows.push(m.fields),
          handlePortalSuspended: () => (out.end = 'suspended'),
          handleCommandComplete: (m: { text: string }) => (out.end = m.text),
          handleEmptyQuery: () => undefined,
          handleError: (e: unknown) => (failed = e),
          handleReadyForQuery: () => (failed ? reject(failed) : resolve(out)),
        } as never);
      });
    const sql = `SELECT time::text, host, value::text FROM metrics_events WHERE time < '2026-01-01T00:02:00Z' ORDER BY time, host, value`;
    const expected = (await new Promise<string[][]>((resolve, reject) => {
      const ref = new Client({ connectionString: bed.reference.url });
      ref.connect().then(() => ref.query({ text: sql, rowMode: 'array' })).then((r) => resolve(r.rows), reject).finally(() => ref.end());
    }));
    expect(expected.length).toBeGreaterThan(8);
    await withProxy(async (c) => {
      await c.query('BEGIN');
      const first = await round(c, (cn) => {
        cn.parse({ name: '', text: sql, types: [] });
        cn.bind({ portal: 'p1', statement: '', values: [] });
        cn.execute({ portal: 'p1', rows: 4 });
      });
      expect(first).toEqual({ rows: expected.slice(0, 4), end: 'suspended' });
      // Another statement on the same session while the portal waits.
      expect((await c.query(COUNT)).rows[0].n).toBe(total);
      const second = await round(c, (cn) => cn.execute({ portal: 'p1', rows: 4 }));
      expect(second).toEqual({ rows: expected.slice(4, 8), end: 'suspended' });
      const rest = await round(c, (cn) => cn.execute({ portal: 'p1', rows: 0 }));
      expect(rest.rows).toEqual(expected.slice(8));
      expect(rest.end).toMatch(/^SELECT \d+$/);
      await c.query('COMMIT');
    });
  });

  it('answers SQL-level PREPARE / EXECUTE / DEALLOCATE across both tiers, in and out of transactions', async () => {
    const counted = (since: string) => one(bed.reference.url, `SELECT count(*)::text AS n FROM metrics_events WHERE time > '${since}' AND host = 'h1'`);
    await withProxy(async (c) => {
      await c.query(`PREPARE in_session_p(timestamptz, text) AS SELECT count(*)::text AS n FROM metrics_events WHERE time > $1 AND host = $2`);
      expect((await c.query(`EXECUTE in_session_p('2026-01-02', 'h1')`)).rows[0].n).toBe((await counted('2026-01-02')).n);
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      expect((await c.query(`EXECUTE in_session_p('2026-01-01T12:00:00Z', 'h' || '1')`)).rows[0].n).toBe((await counted('2026-01-01T12:00:00Z')).n);
      await c.query('COMMIT');
      await expect(c.query(`EXECUTE in_session_p('2026-01-02')`)).rejects.toMatchObject({ code: '42601' });
      await expect(c.query(`PREPARE in_session_p AS SELECT 1 FROM metrics_events`)).rejects.toMatchObject({ code: '42P05' });
      // Statements on other tables are PostgreSQL's own, as before.
      await c.query('PREPARE in_session_plain AS SELECT 41 + 1 AS x');
      expect((await c.query('EXECUTE in_session_plain')).rows[0].x).toBe(42);
      await c.query('DEALLOCATE in_session_plain');
      await c.query('DEALLOCATE in_session_p');
      await expect(c.query(`EXECUTE in_session_p('2026-01-02', 'h1')`)).rejects.toMatchObject({ code: '26000' });
    });
  });

  it('reads a row the transaction itself inserted, with both tiers', async () => {
    await withProxy(async (c) => {
      await c.query('BEGIN');
      await c.query(`INSERT INTO metrics_events (time, app, host, labels, value) VALUES ('2026-01-01T00:00:00.5Z', 'txn', 'own', '{}', 1)`);
      expect((await c.query(COUNT)).rows[0].n).toBe(String(Number(total) + 1));
      await c.query('ROLLBACK');
      expect((await c.query(COUNT)).rows[0].n).toBe(total);
    });
  });

  it('gives a REPEATABLE READ transaction the same rows when a tiering run commits in between', async () => {
    await withProxy(async (c) => {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const sql = `SELECT count(*)::text AS n, min(time)::text AS lo, max(value)::text AS m FROM metrics_events WHERE time < '2026-01-05'`;
      const before = (await c.query(sql)).rows[0];
      await bed.tierTo('2026-01-05T00:00:00Z');
      const after = (await c.query(sql)).rows[0];
      await c.query('COMMIT');
      expect(after).toEqual(before);
      expect(before).toEqual(await one(bed.reference.url, sql));
      expect((await c.query(sql)).rows[0]).toEqual(before);
    });
  });

  it('reads through plain views (nested too), created through the proxy', async () => {
    await withProxy(async (c) => {
      await c.query('CREATE VIEW in_session_v AS SELECT * FROM metrics_events');
      await c.query(`CREATE VIEW in_session_v2 (h, v) AS SELECT host, value FROM in_session_v WHERE app IS NOT NULL`);
      try {
        expect((await c.query('SELECT count(*)::text AS n FROM in_session_v')).rows[0].n).toBe(total);
        const ref = await one(bed.reference.url, `SELECT count(*)::text AS n, max(value)::text AS m FROM metrics_events WHERE app IS NOT NULL AND host = 'h2'`);
        expect((await c.query(`SELECT count(*)::text AS n, max(v)::text AS m FROM in_session_v2 WHERE h = 'h2'`)).rows[0]).toEqual(ref);
        await c.query('BEGIN');
        expect((await c.query('SELECT count(*)::text AS n FROM in_session_v')).rows[0].n).toBe(total);
        await c.query('COMMIT');
        // A whole-table view reads as its table: the outer time filter bounds the cold read.
        const plan = (await c.query(`EXPLAIN SELECT count(*) FROM in_session_v WHERE time >= '2026-01-06T00:00:00Z'`)).rows.map((r) => r['QUERY PLAN']);
        expect(plan[0]).toBe('Strata route: hot');
        const day = `SELECT count(*)::text AS n FROM metrics_events WHERE time >= '2026-01-02' AND time < '2026-01-03'`;
        expect((await c.query(day.replace('metrics_events', 'in_session_v'))).rows[0].n).toBe((await one(bed.reference.url, day)).n);
      } finally {
        await c.query('DROP VIEW in_session_v2');
        await c.query('DROP VIEW in_session_v');
      }
    });
  });

  it('reads through cursors, COPY, CREATE TABLE AS, SELECT INTO and INSERT … SELECT', async () => {
    await withProxy(async (c) => {
      await c.query('BEGIN');
      await c.query(`DECLARE cur CURSOR FOR SELECT host, count(*)::text AS n FROM metrics_events GROUP BY host ORDER BY host`);
      const fetched = (await c.query('FETCH ALL FROM cur')).rows;
      await c.query('CLOSE cur');
      await c.query('COMMIT');
      const c2 = new Client({ connectionString: bed.reference.url });
      await c2.connect();
      try {
        expect(fetched).toEqual((await c2.query(`SELECT host, count(*)::text AS n FROM metrics_events GROUP BY host ORDER BY host`)).rows);
      } finally {
        await c2.end();
      }

      let copied = '';
      for await (const chunk of c.query(copyTo('COPY (SELECT count(*) FROM metrics_events) TO STDOUT')) as AsyncIterable<Buffer>) copied += chunk.toString();
      expect(copied).toBe(`${total}\n`);
      let lines = 0;
      for await (const chunk of c.query(copyTo('COPY metrics_events (time, host) TO STDOUT')) as AsyncIterable<Buffer>) lines += chunk.toString().split('\n').length - 1;
      expect(String(lines)).toBe(total);

      await c.query('CREATE TEMP TABLE in_session_ctas AS SELECT host, count(*) AS n FROM metrics_events GROUP BY host');
      expect((await c.query('SELECT sum(n)::text AS n FROM in_session_ctas')).rows[0].n).toBe(total);
      await c.query('SELECT time, value INTO TEMP in_session_into FROM metrics_events');
      expect((await c.query('SELECT count(*)::text AS n FROM in_session_into')).rows[0].n).toBe(total);
      await c.query('CREATE TEMP TABLE in_session_ins (time timestamptz, value double precision)');
      const ins = await c.query('INSERT INTO in_session_ins SELECT time, value FROM metrics_events');
      expect(String(ins.rowCount)).toBe(total);
    });
  });

  it('refuses what it cannot answer exactly, and the failed statement aborts the client block', async () => {
    await withProxy(async (c) => {
      await expect(c.query(`UPDATE metrics_events SET value = 1 WHERE host = 'h1'`)).rejects.toMatchObject({ code: '0A000' });
      await expect(c.query('CREATE MATERIALIZED VIEW in_session_mv AS SELECT count(*) FROM metrics_events')).rejects.toMatchObject({ code: '0A000' });
      expect((await c.query(COUNT)).rows[0].n).toBe(total);
      await c.query('BEGIN');
      await expect(c.query(`UPDATE metrics_events SET value = 0 WHERE host = 'h1'`)).rejects.toMatchObject({ code: '0A000' });
      await expect(c.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
      await c.query('ROLLBACK');
      // Rows at or after W only: exact on the hot tier, as before.
      const d = await c.query(`DELETE FROM metrics_events WHERE time >= '2030-01-01' AND host = 'nobody'`);
      expect(d.rowCount).toBe(0);
    });
  });

  it("commits its own block with the statement's last round trip, leaves none open after an error, and never commits the client's block", async () => {
    const marks = `in_session_marks_${process.pid}`;
    await withProxy(async (c) => {
      // PostgreSQL's status in each ReadyForQuery the client gets: what a driver sees of the transaction.
      let status = '';
      (c as unknown as { connection: { on(e: string, f: (m: { status: string }) => void): void } }).connection.on('readyForQuery', (m) => (status = m.status));
      expect((await c.query(COUNT)).rows[0].n).toBe(total);
      expect(status).toBe('I');
      // Failing where BEGIN travels with the describe (PostgreSQL's error, its SQLSTATE), and
      // in the statement run after it: no block of the engine's is left open either way.
      await expect(c.query('SELECT no_such_column FROM metrics_events')).rejects.toMatchObject({ code: '42703' });
      expect(status).toBe('I');
      await expect(c.query('SELECT 1 / (count(*) - count(*)) FROM metrics_events')).rejects.toMatchObject({ code: '22012' });
      expect(status).toBe('I');
      await expect(c.query({ text: `${COUNT} WHERE time < $1 AND value / 0 > 0`, values: ['2026-01-03T00:00:00Z'] })).rejects.toMatchObject({ code: '22012' });
      expect(status).toBe('I');
      expect((await c.query({ text: `${COUNT} WHERE time < $1`, values: ['2030-01-01T00:00:00Z'] })).rows[0].n).toBe(total);
      expect(status).toBe('I');

      await c.query(`CREATE TABLE ${marks} (n int)`);
      try {
        await c.query('BEGIN');
        await c.query(`INSERT INTO ${marks} VALUES (1)`);
        expect((await c.query(COUNT)).rows[0].n).toBe(total);
        expect((await c.query({ text: `${COUNT} WHERE time < $1`, values: ['2030-01-01T00:00:00Z'] })).rows[0].n).toBe(total);
        expect(status).toBe('T');
        await c.query('ROLLBACK');
        expect((await c.query(`SELECT count(*)::text AS n FROM ${marks}`)).rows[0].n).toBe('0');
        // An error inside the block aborts it (PostgreSQL's 25P02 next), and commits nothing.
        await c.query('BEGIN');
        await c.query(`INSERT INTO ${marks} VALUES (2)`);
        await expect(c.query('SELECT 1 / (count(*) - count(*)) FROM metrics_events')).rejects.toMatchObject({ code: '22012' });
        expect(status).toBe('E');
        await expect(c.query(COUNT)).rejects.toMatchObject({ code: '25P02' });
        await c.query('ROLLBACK');
        expect((await c.query(`SELECT count(*)::text AS n FROM ${marks}`)).rows[0].n).toBe('0');
        expect((await c.query(COUNT)).rows[0].n).toBe(total);
        expect(status).toBe('I');
        // A COMMIT that fails (a deferred constraint the statement broke) reaches the client.
        await c.query(`ALTER TABLE ${marks} ADD UNIQUE (n) DEFERRABLE INITIALLY DEFERRED`);
        await c.query(`CREATE FUNCTION ${marks}_twice() RETURNS int LANGUAGE sql AS 'INSERT INTO ${marks} VALUES (3), (3) RETURNING 0'`);
        await expect(c.query(`SELECT host, count(*) + ${marks}_twice() AS n FROM metrics_events GROUP BY host`)).rejects.toMatchObject({ code: '23505' });
        expect(status).toBe('I');
        expect((await c.query(`SELECT count(*)::text AS n FROM ${marks}`)).rows[0].n).toBe('0');
      } finally {
        await c.query(`DROP TABLE ${marks}`);
        await c.query(`DROP FUNCTION IF EXISTS ${marks}_twice()`);
      }
    });
  });

  it('deletes from both tiers inside the client transaction, and a rollback keeps every row', async () => {
    const h1 = (await one(bed.reference.url, `${COUNT} WHERE host = 'h1'`)).n;
    await withProxy(async (c) => {
      await c.query('BEGIN');
      const d = await c.query(`DELETE FROM metrics_events WHERE host = 'h1'`);
      expect(String(d.rowCount)).toBe(h1);
      expect((await c.query(`${COUNT} WHERE host = 'h1'`)).rows[0].n).toBe('0');
      await c.query('ROLLBACK');
      expect((await c.query(`${COUNT} WHERE host = 'h1'`)).rows[0].n).toBe(h1);
      expect((await c.query(COUNT)).rows[0].n).toBe(total);
    });
  });

  it("answers as the client's own role: PostgreSQL's 42501 wherever PostgreSQL gives it, and refuses tables with row-level security", async () => {
    const role = `strata_insession_${process.pid}`;
    const admin = new Client({ connectionString: bed.tiered.pgUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role}`);
      await admin.query(`GRANT SELECT (time, host, app) ON metrics_events TO ${role}`);
      await admin.query('CREATE TABLE in_session_secret (host text)');
      const asRole = async (c: Client, sql: string, values: unknown[] = []) => {
        await c.query('BEGIN');
        await c.query(`SET LOCAL ROLE ${role}`);
        try {
          return await c.query(sql, values);
        } finally {
          await c.query('ROLLBACK');
        }
      };
      const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);
      const cases = [
        `SELECT count(*) FROM metrics_events`,
        `SELECT host, count(*) FROM metrics_events GROUP BY host`,
        `SELECT max(value) FROM metrics_events`,
        `SELECT count(*) FROM metrics_events m JOIN in_session_secret s ON s.host = m.host`,
        `SELECT count(*) FROM metrics_events WHERE host IN (SELECT rolname FROM pg_authid)`,
      ];
      await withProxy(async (c) => {
        const direct = new Client({ connectionString: bed.tiered.pgUrl });
        await direct.connect();
        try {
          for (const sql of cases) {
            const [viaProxy, viaPostgres] = [await outcome(asRole(c, sql)), await outcome(asRole(direct, sql))];
            expect([sql, viaProxy]).toEqual([sql, viaPostgres]);
          }
          expect(await outcome(asRole(c, 'SELECT value FROM metrics_events WHERE time < $1', ['2026-01-02']))).toBe('42501');
        } finally {
          await direct.end();
        }
        await admin.query('ALTER TABLE metrics_events ENABLE ROW LEVEL SECURITY');
        try {
          await expect(c.query(COUNT)).rejects.toMatchObject({ code: '0A000' });
        } finally {
          await admin.query('ALTER TABLE metrics_events DISABLE ROW LEVEL SECURITY');
        }
      });
    } finally {
      await admin.query('DROP TABLE IF EXISTS in_session_secret');
      await admin.query(`REVOKE ALL ON metrics_events FROM ${role}`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });

  it('bounds what a statement stages from the cold tier: 54000 naming the limit, never a full disk', async () => {
    const pino = (await import('pino')).default;
    const bounded = await startTieredProxy(
      resolveProxyConfig({ listen: '127.0.0.1:0', backendUrl: bed.tiered.pgUrl, users: { postgres: PASSWORD }, maxRawColdRows: 1000, maxInlineColdBytes: 4096 }),
      { pgUrl: bed.tiered.pgUrl, cold: bed.tiered.cold, coldDatabase: bed.tiered.database, logger: pino({ level: 'silent' }) },
    );
    const c = new Client({ connectionString: `postgres://postgres:${PASSWORD}@${bounded.host}:${bounded.port}/${new URL(bed.tiered.pgUrl).pathname.slice(1)}` });
    await c.connect();
    try {
      // A window over every row still needs the raw cold rows in PostgreSQL.
      const raw = 'SELECT time, sum(value) OVER (ORDER BY time) FROM metrics_events';
      await expect(c.query(raw)).rejects.toMatchObject({ code: '54000', message: expect.stringMatching(/1000 rows/) });
      // A percentile over every row ships the hot rows (one column) to ClickHouse instead: within the bound.
      const median = 'SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS m FROM metrics_events';
      expect((await c.query(median)).rows).toEqual([await one(bed.reference.url, median)]);
      // Partial aggregates and top-N stay within any bound; the session is unharmed.
      expect((await c.query(COUNT)).rows[0].n).toBe(total);
      expect((await c.query('SELECT time FROM metrics_events ORDER BY time LIMIT 3')).rows).toHaveLength(3);
      await c.query('BEGIN READ ONLY');
      await expect(c.query('SELECT time, host, value FROM metrics_events WHERE time < $1', ['2026-01-03'])).rejects.toMatchObject({ code: '54000' });
      await c.query('ROLLBACK');
    } finally {
      await c.end();
      await bounded.close();
    }
  });

  it('leaves a same-named table of another database alone', async () => {
    const o = new Client({ connectionString: other.url });
    await o.connect();
    try {
      await o.query('CREATE TABLE metrics_events (time timestamptz, host text)');
      await o.query(`INSERT INTO metrics_events VALUES (now(), 'only')`);
    } finally {
      await o.end();
    }
    const otherDb = new URL(other.url).pathname.slice(1);
    expect(await withProxy(async (c) => (await c.query(COUNT)).rows[0].n, otherDb)).toBe('1');
  });
});
