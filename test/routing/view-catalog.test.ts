import { Client } from 'pg';
import { resolveProxyConfig } from '../../proxy/src/config';
import { startTieredProxy, type RunningTieredProxy } from '../../proxy/src/tiered-proxy';
import { createTierEngine, loadCatalogSnapshot } from '../../proxy/src/engine';
import { createRouter, loadSqlParser, parseStatements } from '../../proxy/src/router';
import { startCorpusBed, type CorpusBed } from './corpus/corpus-bed';

/**
 * Views the proxy learns of however they are made. The router decides from its catalog
 * before PostgreSQL sees a statement, so a view over a tiered table it does not know is
 * relayed and reads the hot tier alone. These cases make views where the proxy's catalog
 * connection cannot see them at once — straight in PostgreSQL (PostgreSQL notifies the
 * proxy: core catalog-notify.ts), or inside the client's own block (read in the block:
 * client-session.ts) — with the periodic re-read set to an hour, so it cannot be what
 * finds them; every answer is PostgreSQL's over all rows (the reference database).
 */
const api = { loadSqlParser, parseStatements, createRouter, createTierEngine, loadCatalogSnapshot };
const PASSWORD = 'view-catalog-secret';
const W = '2026-01-04T13:37:00Z';

describe('views the proxy learns of at once', () => {
  let bed: CorpusBed;
  let proxy: RunningTieredProxy;
  let direct: Client;
  let reference: Client;
  let client: Client;
  let proxyUrl: string;

  beforeAll(async () => {
    bed = await startCorpusBed(api);
    await bed.tierTo(W);
    const pino = (await import('pino')).default;
    proxy = await startTieredProxy(resolveProxyConfig({ listen: '127.0.0.1:0', backendUrl: bed.tiered.pgUrl, users: { postgres: PASSWORD }, catalogRefreshMs: 3_600_000 }), {
      pgUrl: bed.tiered.pgUrl,
      cold: bed.tiered.cold,
      coldDatabase: bed.tiered.database,
      logger: pino({ level: process.env.STRATA_TEST_LOG ?? 'silent' }),
    });
    const database = new URL(bed.tiered.pgUrl).pathname.slice(1);
    direct = new Client({ connectionString: bed.tiered.pgUrl });
    reference = new Client({ connectionString: bed.reference.url });
    proxyUrl = `postgres://postgres:${PASSWORD}@${proxy.host}:${proxy.port}/${database}`;
    client = new Client({ connectionString: proxyUrl });
    await Promise.all([direct.connect(), reference.connect(), client.connect()]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([direct?.end(), reference?.end(), client?.end()]);
    await proxy?.close();
    await bed?.close();
  });

  /** The same DDL in the tiered database (straight, not through the proxy) and the reference. */
  async function both(sql: string): Promise<void> {
    await direct.query(sql);
    await reference.query(sql);
  }

  async function expectSame(sql: string): Promise<void> {
    const want = (await reference.query(sql)).rows;
    expect(want.length).toBeGreaterThan(0);
    expect((await client.query(sql)).rows).toEqual(want);
  }

  /** The first line of the proxy's EXPLAIN: "Strata route: …" once the statement is the engine's. */
  async function firstPlanLine(sql: string): Promise<string> {
    return (await client.query(`EXPLAIN ${sql}`)).rows[0]['QUERY PLAN'] as string;
  }

  /**
   * PostgreSQL delivers the notification to the proxy after the DDL commits, so a client
   * racing the commit could arrive first; a few milliseconds is the window. The hour-long
   * periodic re-read is not it.
   */
  async function untilRouted(sql: string, strata: boolean): Promise<void> {
    const deadline = Date.now() + 3000;
    while ((await firstPlanLine(sql)).startsWith('Strata route') !== strata) {
      if (Date.now() > deadline) throw new Error(`still ${strata ? 'not ' : ''}routed by Strata: ${sql}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('has PostgreSQL notify view DDL (strata apply created the event triggers)', async () => {
    const r = await direct.query("SELECT evtname FROM pg_event_trigger WHERE evtname LIKE 'strata_views_%' ORDER BY 1");
    expect(r.rows.map((x) => x.evtname)).toEqual(['strata_views_changed', 'strata_views_dropped']);
  });

  it('routes a view created, replaced and dropped straight in PostgreSQL', async () => {
    const count = `SELECT count(*)::text AS n, max(value)::text AS m FROM direct_v WHERE host IN ('h1', 'h3')`;
    await both(`CREATE VIEW direct_v AS SELECT time, host, value FROM metrics_events WHERE app IS NOT NULL`);
    try {
      await untilRouted(count, true);
      await expectSame(count);
      await expectSame(`SELECT host, count(*)::text AS n FROM direct_v WHERE time >= '2026-01-02' GROUP BY host ORDER BY host`);
      // Replaced to read an ordinary table: the proxy must not expand the old definition.
      await both(`CREATE TABLE direct_plain AS SELECT time, host, value FROM metrics_events WHERE time >= '${W}' AND host = 'h1'`);
      await both(`CREATE OR REPLACE VIEW direct_v AS SELECT time, host, value FROM direct_plain`);
      await untilRouted(count, false);
      await expectSame(count);
      // Dropped, and the name reused by a table.
      await both('DROP VIEW direct_v');
      await both(`CREATE TABLE direct_v AS SELECT now() AS time, 'h3' AS host, v::float8 AS value FROM generate_series(1, 5) AS v`);
      await untilRouted(count, false);
      await expectSame(count);
      // A view over a view, both made straight in PostgreSQL.
      await both(`CREATE VIEW direct_v1 AS SELECT * FROM metrics_events`);
      await both(`CREATE VIEW direct_v2 (h, v) AS SELECT host, value FROM direct_v1 WHERE level = 'error'`);
      const nested = `SELECT h, count(*)::text AS n, max(v)::text AS s FROM direct_v2 GROUP BY h ORDER BY h`;
      await untilRouted(nested, true);
      await expectSame(nested);
    } finally {
      // direct_v is a view or a table, depending on where a failure left it.
      for (const s of ['DROP VIEW IF EXISTS direct_v2', 'DROP VIEW IF EXISTS direct_v1', 'DROP VIEW IF EXISTS direct_v', 'DROP TABLE IF EXISTS direct_v', 'DROP TABLE IF EXISTS direct_plain']) {
        await both(s).catch(() => undefined);
      }
    }
  });

  it('routes a view renamed straight in PostgreSQL under its new name', async () => {
    await both(`CREATE VIEW direct_old AS SELECT host, value FROM metrics_events`);
    try {
      await both('ALTER VIEW direct_old RENAME TO direct_new');
      const sql = `SELECT host, count(*)::text AS n FROM direct_new GROUP BY host ORDER BY host`;
      await untilRouted(sql, true);
      await expectSame(sql);
    } finally {
      await both('DROP VIEW IF EXISTS direct_new');
      await both('DROP VIEW IF EXISTS direct_old');
    }
  });

  it('refuses REFRESH of a materialized view over a tiered table made straight in PostgreSQL', async () => {
    await direct.query('CREATE MATERIALIZED VIEW direct_mv AS SELECT host, count(*) AS n FROM metrics_events GROUP BY host');
    try {
      const deadline = Date.now() + 3000;
      let error: { code?: string; message?: string } | undefined;
      while (!error && Date.now() < deadline) {
        error = await client.query('REFRESH MATERIALIZED VIEW direct_mv').then(
          () => undefined,
          (e: { code?: string }) => e,
        );
        if (!error) await new Promise((r) => setTimeout(r, 20));
      }
      expect(error).toMatchObject({ code: '0A000' });
      expect(error!.message).toMatch(/materialized view over a tiered table/);
      // One over an ordinary table is PostgreSQL's as ever.
      await direct.query('CREATE MATERIALIZED VIEW direct_mv_plain AS SELECT 1 AS one');
      await client.query('REFRESH MATERIALIZED VIEW direct_mv_plain');
    } finally {
      await direct.query('DROP MATERIALIZED VIEW IF EXISTS direct_mv');
      await direct.query('DROP MATERIALIZED VIEW IF EXISTS direct_mv_plain');
    }
  });

  it("reads a view made inside the client's block as the block sees it", async () => {
    const total = (await reference.query('SELECT count(*)::text AS n FROM metrics_events')).rows[0].n;
    await client.query('BEGIN');
    try {
      await client.query('CREATE VIEW block_v AS SELECT * FROM metrics_events');
      expect((await client.query('SELECT count(*)::text AS n FROM block_v')).rows[0].n).toBe(total);
      // Extended protocol, a parameter: still the block's view.
      const since = '2026-01-02T00:00:00Z';
      const want = (await reference.query('SELECT count(*)::text AS n FROM metrics_events WHERE time >= $1', [since])).rows[0].n;
      expect((await client.query('SELECT count(*)::text AS n FROM block_v WHERE time >= $1', [since])).rows[0].n).toBe(want);
      // Undone by ROLLBACK TO SAVEPOINT: PostgreSQL's own error, not rows of the old definition.
      await client.query('SAVEPOINT s');
      await client.query('CREATE VIEW block_gone AS SELECT * FROM metrics_events');
      await client.query('ROLLBACK TO SAVEPOINT s');
      await expect(client.query('SELECT count(*) FROM block_gone')).rejects.toMatchObject({ code: '42P01' });
    } finally {
      await client.query('ROLLBACK');
    }
    // Rolled back: gone for everyone.
    await expect(client.query('SELECT count(*) FROM block_v')).rejects.toMatchObject({ code: '42P01' });
  });

  it('routes a statement after view DDL in the same query string', async () => {
    const total = (await reference.query('SELECT count(*)::text AS n FROM metrics_events')).rows[0].n;
    type Results = Array<{ rows: Array<{ n: string }> }>;
    try {
      // Autocommit: each statement commits, the catalog is re-read before the next.
      const auto = (await client.query('CREATE VIEW string_v AS SELECT * FROM metrics_events; SELECT count(*)::text AS n FROM string_v')) as unknown as Results;
      expect(auto[1].rows[0].n).toBe(total);
      // In a block: the block's own view.
      const block = (await client.query(
        'BEGIN; CREATE VIEW string_b AS SELECT host FROM metrics_events; SELECT count(*)::text AS n FROM string_b; ROLLBACK',
      )) as unknown as Results;
      expect(block[2].rows[0].n).toBe(total);
      // Rolled back within the string: the view is gone for the statement after, which gets PostgreSQL's 42P01.
      await expect(
        client.query('BEGIN; CREATE VIEW string_r AS SELECT * FROM metrics_events; SELECT count(*) FROM string_r; ROLLBACK; SELECT count(*) FROM string_r'),
      ).rejects.toMatchObject({ code: '42P01' });
      // Committed within the string: the statement after reads it over both tiers.
      const committed = (await client.query(
        'BEGIN; CREATE VIEW string_c AS SELECT host FROM metrics_events; COMMIT; SELECT count(*)::text AS n FROM string_c',
      )) as unknown as Results;
      expect(committed[3].rows[0].n).toBe(total);
      // Replaced by a view of no tiered table, rolled back: the statement after reads the original over both tiers.
      await client.query('CREATE TABLE string_plain AS SELECT 1 AS host');
      await client.query('CREATE VIEW string_o AS SELECT host FROM metrics_events');
      const undone = (await client.query(
        'BEGIN; CREATE OR REPLACE VIEW string_o AS SELECT host::text FROM string_plain; ROLLBACK; SELECT count(*)::text AS n FROM string_o',
      )) as unknown as Results;
      expect(undone[3].rows[0].n).toBe(total);
    } finally {
      await client.query('DROP VIEW IF EXISTS string_o');
      await client.query('DROP TABLE IF EXISTS string_plain');
      await client.query('DROP VIEW IF EXISTS string_c');
      await client.query('DROP VIEW IF EXISTS string_v');
    }
  });

  // The other client's DDL makes the proxy re-read at its ReadyForQuery, before this client's next message is read.
  it('routes a view committed by another client through the proxy, read by this one in a block', async () => {
    const other = new Client({ connectionString: proxyUrl });
    await other.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      await other.query('CREATE VIEW other_v AS SELECT host, value FROM metrics_events');
      const sql = `SELECT host, count(*)::text AS n, min(value)::text AS m FROM other_v GROUP BY host ORDER BY host`;
      const want = (await reference.query(sql.replace('other_v', 'metrics_events'))).rows;
      expect((await client.query(sql)).rows).toEqual(want);
      await client.query('COMMIT');
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await other.query('DROP VIEW IF EXISTS other_v');
      await other.end();
    }
  });
  /** `work`, or a clear failure after `ms` (a stalled session would otherwise wait for the suite's timeout). */
  function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
    });
    return Promise.race([work, late]).finally(() => clearTimeout(timer));
  }

  // The catalog re-read waited for the view's lock while the block holding it waited for
  // the re-read: every client of the proxy stalled until the block ended, which it never did.
  it("is not stalled by a catalog re-read while a client's block holds a view locked", async () => {
    const total = (await reference.query('SELECT count(*)::text AS n FROM metrics_events')).rows[0].n;
    const other = new Client({ connectionString: proxyUrl });
    await other.connect();
    const count = (view: string) => `SELECT count(*)::text AS n FROM ${view}`;
    try {
      await client.query('CREATE VIEW held_v AS SELECT host FROM metrics_events');
      await client.query('BEGIN');
      // ACCESS EXCLUSIVE on held_v until the block ends.
      await client.query('CREATE OR REPLACE VIEW held_v AS SELECT host, value FROM metrics_events');
      // A change straight in PostgreSQL: it notifies, and the proxy re-reads every view.
      await direct.query('CREATE VIEW elsewhere_v AS SELECT value FROM metrics_events');
      // Another client's statements wait for that re-read, which must not wait for the block.
      const deadline = Date.now() + 3000;
      while (!(await within(5000, 'another client', other.query(`EXPLAIN ${count('elsewhere_v')}`))).rows[0]['QUERY PLAN'].startsWith('Strata route')) {
        if (Date.now() > deadline) throw new Error('elsewhere_v still not routed by Strata');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await within(5000, 'another client', other.query(count('elsewhere_v')))).rows[0].n).toBe(total);
      // held_v as committed (the block's change is not): over both tiers, now or once the block ends.
      const heldRead = other.query(count('held_v'));
      // The holder's own statements, and its ROLLBACK as a message of its own.
      expect((await within(5000, 'the lock holder', client.query(`SELECT count(DISTINCT value)::text AS n FROM held_v`))).rows[0].n).toBe(
        (await reference.query('SELECT count(DISTINCT value)::text AS n FROM metrics_events')).rows[0].n,
      );
      await within(5000, 'the lock holder', client.query('ROLLBACK'));
      expect((await within(5000, 'another client', heldRead)).rows[0].n).toBe(total);
      // The same in one string (the CI failure): the re-read the DDL notifies, then the block's DDL and ROLLBACK.
      await direct.query('DROP VIEW elsewhere_v');
      const results = (await within(
        5000,
        'the string',
        client.query(`BEGIN; CREATE OR REPLACE VIEW held_v AS SELECT host, value FROM metrics_events; ROLLBACK; ${count('held_v')}`),
      )) as unknown as Array<{ rows: Array<{ n: string }> }>;
      expect(results[3].rows[0].n).toBe(total);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await direct.query('DROP VIEW IF EXISTS elsewhere_v');
      await direct.query('DROP VIEW IF EXISTS held_v');
      await other.end();
    }
  });

  it('starts with a view locked, refuses statements naming it with 55P03, and reads it once the lock is gone', async () => {
    const total = (await reference.query('SELECT count(*)::text AS n FROM metrics_events')).rows[0].n;
    await direct.query('CREATE VIEW locked_v AS SELECT host FROM metrics_events');
    const locker = new Client({ connectionString: bed.tiered.pgUrl });
    await locker.connect();
    let second: RunningTieredProxy | undefined;
    let reader: Client | undefined;
    try {
      await locker.query('BEGIN');
      // ACCESS EXCLUSIVE on the view alone (LOCK TABLE on a view would lock its tables too).
      await locker.query('CREATE OR REPLACE VIEW locked_v AS SELECT host FROM metrics_events');
      // A proxy starting now cannot read locked_v's definition, and must not wait for it.
      const pino = (await import('pino')).default;
      second = await within(
        10_000,
        'a proxy starting',
        startTieredProxy(resolveProxyConfig({ listen: '127.0.0.1:0', backendUrl: bed.tiered.pgUrl, users: { postgres: PASSWORD }, catalogRefreshMs: 3_600_000 }), {
          pgUrl: bed.tiered.pgUrl,
          cold: bed.tiered.cold,
          coldDatabase: bed.tiered.database,
          logger: pino({ level: process.env.STRATA_TEST_LOG ?? 'silent' }),
        }),
      );
      reader = new Client({ connectionString: proxyUrl.replace(`:${proxy.port}/`, `:${second.port}/`) });
      await reader.connect();
      // Relayed, it would read the hot tier alone; expanded, it has no definition.
      const refused = await within(5000, 'a read of locked_v', reader.query('SELECT count(*) FROM locked_v')).catch((e: { code?: string; message?: string }) => e);
      expect(refused).toMatchObject({ code: '55P03' });
      expect((refused as Error).message).toContain('"public"."locked_v"');
      // Other statements are answered meanwhile.
      expect((await within(5000, 'a read of the table', reader.query('SELECT count(*)::text AS n FROM metrics_events'))).rows[0].n).toBe(total);
      await locker.query('ROLLBACK');
      // Nothing notifies a lock's end: the proxy reads the view again on its own, soon.
      const deadline = Date.now() + 5000;
      for (;;) {
        const r = await reader.query('SELECT count(*)::text AS n FROM locked_v').catch((e: { code?: string }) => e);
        if ('rows' in r) {
          expect(r.rows[0].n).toBe(total);
          break;
        }
        expect(r).toMatchObject({ code: '55P03' });
        if (Date.now() > deadline) throw new Error('locked_v still refused after its lock was released');
        await new Promise((res) => setTimeout(res, 50));
      }
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
      await reader?.end();
      await second?.close();
      await direct.query('DROP VIEW IF EXISTS locked_v');
    }
  });
});
