import { Client } from 'pg';
import { chQualified, DATASET_START, getTierState, runTiering, visibleGenerationsSql } from '@strata/core';
import { SqlStateError } from '../../proxy/src/engine/contract';
import type { HotSession } from '../../proxy/src/engine/hot-session';
import { pgHotSession } from '../../proxy/src/engine/pg-hot-session';
import { executeTieredDelete, readColdDeletes, tombstoneFilterSql } from '../../proxy/src/engine/tiered-delete';
import { coldQuery, planStatement } from '../../proxy/src/engine/plan';
import { catalogSnapshot, type TieredRelation } from '../../proxy/src/router/catalog-snapshot';
import { instantFromEpochText } from '../../proxy/src/translate/instant';
import { loadSqlParser, parseStatements } from '../../proxy/src/router/sql-parser';
import { createReferenceTable, loadDataset, metricsSpec, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';

/**
 * DELETE and TRUNCATE of a tiered table through executeTieredDelete, in a transaction of
 * a real PostgreSQL session, with the cold tier in the real ClickHouse engine (chDB). Two
 * days of the corpus dataset are tiered at the day boundary; a plain reference table in
 * the same database holds the same rows and takes the same statements. After each step
 * the tiered table's contents (hot rows + cold rows of visible generations that no
 * tombstone covers) must equal the reference table's.
 */
const DAY = 24 * 60;
const W1 = new Date(DATASET_START + DAY * 60_000).toISOString(); // 2026-01-02T00:00:00Z
const W2 = new Date(DATASET_START + 1.5 * DAY * 60_000).toISOString(); // 2026-01-02T12:00:00Z

describe('DELETE and TRUNCATE across tiers', () => {
  let fx: TieredFixture;
  let client: Client;
  let relation: TieredRelation;

  const tier = (until: string) => runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events', until: new Date(until) });

  /** Runs `fn` in a transaction of the test's session; commits unless told otherwise (rolls back on error). */
  async function inTransaction<T>(fn: (hot: HotSession) => Promise<T>, end: 'COMMIT' | 'ROLLBACK' = 'COMMIT', begin = 'BEGIN', on = client): Promise<T> {
    await on.query(begin);
    try {
      const r = await fn(pgHotSession(on, true));
      await on.query(end);
      return r;
    } catch (err) {
      await on.query('ROLLBACK');
      throw err;
    }
  }

  function run(hot: HotSession, sql: string, params: Array<string | null> = [], paramTypes: number[] = []) {
    const [s] = parseStatements(sql);
    return executeTieredDelete(hot, s.stmt, { relation, cold: fx.cold, coldDatabase: fx.database, params, paramTypes, sql });
  }

  /** The statement on the tiered table in its own committed transaction; its command tag. */
  async function tiered(sql: string, params: Array<string | null> = []): Promise<string> {
    return (await inTransaction((hot) => run(hot, sql, params))).commandTag;
  }

  async function reference(sql: string, params: Array<string | null> = []): Promise<string> {
    const r = await fx.hot.query(sql.replace(/metrics_events/g, 'reference_rows'), params);
    return `${r.command} ${r.rowCount}`;
  }

  /** Rows per (app, host, hour): count, count(value), sum of value in tenths. */
  async function contents(): Promise<Map<string, [number, number, number]>> {
    const out = new Map<string, [number, number, number]>();
    const add = (key: string, v: [number, number, number]) => {
      const cur = out.get(key) ?? [0, 0, 0];
      out.set(key, [cur[0] + v[0], cur[1] + v[1], cur[2] + v[2]]);
    };
    const hot = await fx.hot.query<{ k: string; n: string; nv: string; s: string }>(
      `SELECT app || '|' || host || '|' || to_char(date_trunc('hour', time AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24') AS k,
              count(*) AS n, count(value) AS nv, coalesce(sum(round((value * 10)::numeric)), 0) AS s
         FROM metrics_events GROUP BY 1`,
    );
    for (const r of hot.rows) add(r.k, [Number(r.n), Number(r.nv), Number(r.s)]);
    const state = (await getTierState(fx.hot, 'metrics_events'))!;
    const deletes = (await readColdDeletes(pgHotSession(fx.hot), ['metrics_events'])).get('metrics_events')!;
    const w = state.watermark ? `time < toDateTime64('${state.watermark.toISOString().replace('T', ' ').replace('Z', '')}', 6, 'UTC')` : '0';
    const cold = await fx.cold.query<{ k: string; n: string; nv: string; s: number }>(
      `SELECT concat(app, '|', host, '|', formatDateTime(toStartOfHour(time), '%Y-%m-%d %H', 'UTC')) AS k,
              count() AS n, count(value) AS nv, sum(round(value * 10)) AS s
         FROM ${chQualified(fx.database, 'metrics_events')}
        WHERE ${w} AND ${visibleGenerationsSql(state)} AND ${tombstoneFilterSql(deletes)} GROUP BY k`,
    );
    for (const r of cold) add(r.k, [Number(r.n), Number(r.nv), Math.round(Number(r.s))]);
    return out;
  }

  async function referenceContents(): Promise<Map<string, [number, number, number]>> {
    const r = await fx.hot.query<{ k: string; n: string; nv: string; s: string }>(
      `SELECT app || '|' || host || '|' || to_char(date_trunc('hour', time AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24') AS k,
              count(*) AS n, count(value) AS nv, coalesce(sum(round((value * 10)::numeric)), 0) AS s
         FROM reference_rows GROUP BY 1`,
    );
    return new Map(r.rows.map((x) => [x.k, [Number(x.n), Number(x.nv), Number(x.s)]]));
  }

  async function expectSameContents(): Promise<void> {
    const sorted = (m: Map<string, unknown>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    expect(sorted(await contents())).toEqual(sorted(await referenceContents()));
  }

  /**
   * `SELECT … FROM metrics_events WHERE …` (raw rows, no time bounds) answered as the
   * engine does: the hot table, plus the cold query plan.ts builds with the tombstone
   * filter ANDed into visibility. Returns its row count.
   */
  async function rowsAsEngineReads(sql: string): Promise<number> {
    const [s] = parseStatements(sql);
    const plan = planStatement(s.stmt, catalogSnapshot([fx.spec]), { utc: true, includeHot: true });
    const occ = plan.occurrences[0];
    expect(occ.mode).toBe('raw');
    const state = (await getTierState(fx.hot, 'metrics_events'))!;
    const w = await fx.hot.query<{ w: string }>("SELECT extract(epoch FROM watermark)::text AS w FROM strata.tier_state WHERE table_name = 'metrics_events'");
    const deletes = (await readColdDeletes(pgHotSession(fx.hot), ['metrics_events'])).get('metrics_events')!;
    const visibility = `${visibleGenerationsSql(state)} AND ${tombstoneFilterSql(deletes)}`;
    const q = coldQuery(occ, [], instantFromEpochText(w.rows[0].w), visibility, fx.database);
    const cold = (await fx.cold.queryTsv(q.sql, q.params)).split('\n').filter((l) => l !== '').length;
    const hot = await fx.hot.query(sql);
    return hot.rowCount! + cold;
  }

  async function tombstones(): Promise<{ all: number; unapplied: number }> {
    const r = await fx.hot.query<{ all: string; unapplied: string }>(
      'SELECT count(*) AS all, count(*) FILTER (WHERE applied_at IS NULL) AS unapplied FROM strata.cold_deletes',
    );
    return { all: Number(r.rows[0].all), unapplied: Number(r.rows[0].unapplied) };
  }

  beforeAll(async () => {
    await loadSqlParser();
    fx = await tieredFixture(metricsSpec());
    await loadDataset(fx.hot, 'metrics_events', { toMinute: 2 * DAY }, fx.spec);
    await createReferenceTable(fx.hot);
    await loadDataset(fx.hot, 'reference_rows', { toMinute: 2 * DAY });
    await tier(W1);
    relation = catalogSnapshot([fx.spec]).tables[0];
    client = new Client({ connectionString: fx.pgUrl });
    await client.connect();
  }, 120_000);

  afterAll(async () => {
    await client?.end();
    await fx?.close();
  });

  it('deletes matching rows of both tiers, reports PostgreSQL\'s count, and later reads do not see them', async () => {
    await expectSameContents();
    const sql = "DELETE FROM metrics_events WHERE host = 'h1'";
    const tag = await tiered(sql);
    expect(tag).toBe(await reference(sql));
    expect(tag).toBe('DELETE 8640');
    await expectSameContents();
    for (const read of ["SELECT time, value FROM metrics_events WHERE host = 'h1'", "SELECT host FROM metrics_events WHERE app = 'web'"]) {
      expect(await rowsAsEngineReads(read)).toBe((await fx.hot.query(read.replace('metrics_events', 'reference_rows'))).rowCount);
    }
    expect(await tombstones()).toEqual({ all: 1, unapplied: 1 });
  });

  it('takes bind parameters, typed or not, for time bounds and conditions', async () => {
    const sql = 'DELETE FROM metrics_events WHERE time >= $1 AND time < $2 AND app = $3';
    const params = ['2026-01-01T20:00:00Z', '2026-01-02T04:00:00Z', 'web'];
    const tag = await tiered(sql, params);
    expect(tag).toBe(await reference(sql, params));
    const typed = 'DELETE FROM metrics_events WHERE value >= $1 AND labels @> $2 AND time < $3';
    const typedParams = ['95.5', '{"env": "prod"}', '2026-01-01T12:00:00+00'];
    const typedTag = (await inTransaction((hot) => run(hot, typed, typedParams, [701, 3802, 1184]))).commandTag;
    expect(typedTag).toBe(await reference(typed, typedParams));
    await expectSameContents();
  });

  it('does not count cold rows an earlier, not yet applied delete removed', async () => {
    const sql = "DELETE FROM metrics_events m WHERE m.level = 'error' OR m.host IN ('h1', 'h2')";
    const tag = await tiered(sql);
    expect(tag).toBe(await reference(sql));
    await expectSameContents();
  });

  it('deletes by log-search conditions (regex, LIKE with _, starts_with, position), and reads filter by them', async () => {
    const sql = "DELETE FROM metrics_events WHERE host ~ '^h[23]$' AND app LIKE '_e_' AND NOT starts_with(level, 'err') AND position('x' in host) = 0";
    const tag = await tiered(sql);
    expect(tag).toBe(await reference(sql));
    expect(tag).not.toBe('DELETE 0');
    await expectSameContents();
  });

  it('deletes nothing in either tier when the transaction rolls back', async () => {
    const before = await tombstones();
    const r = await inTransaction((hot) => run(hot, "DELETE FROM metrics_events WHERE app = 'api'"), 'ROLLBACK');
    expect(r.commandTag).toMatch(/^DELETE [1-9]\d*$/);
    expect(await tombstones()).toEqual(before);
    await expectSameContents();
  });

  it('answers a DELETE wholly at or above W, RETURNING included, from PostgreSQL alone', async () => {
    const sql = "DELETE FROM metrics_events WHERE time >= '2026-01-02T20:00:00Z' AND host = 'h4' RETURNING host, value";
    const before = await tombstones();
    const r = await inTransaction((hot) => run(hot, sql));
    const ref = await fx.hot.query({ text: sql.replace('metrics_events', 'reference_rows'), rowMode: 'array' });
    expect(r.commandTag).toBe(`DELETE ${ref.rowCount}`);
    expect(r.fields?.map((f) => f.name)).toEqual(['host', 'value']);
    expect(r.rows).toHaveLength(ref.rowCount!);
    expect(await tombstones()).toEqual(before);
    await expectSameContents();
  });

  it('refuses with 0A000 what it cannot do exactly, naming the cold range, and changes nothing', async () => {
    const before = await tombstones();
    const refused = [
      ["DELETE FROM metrics_events USING reference_rows r WHERE metrics_events.host = r.host AND r.level = 'none'", 'USING'],
      ["DELETE FROM metrics_events WHERE lower(host) = 'h3'", 'before W = 2026-01-02T00:00:00.000000Z'],
      ["DELETE FROM metrics_events WHERE host = 'h3' RETURNING *", 'RETURNING'],
      ["DELETE FROM metrics_events WHERE host ~ '\\d'", 'cannot evaluate exactly'], // outside the portable regex subset
      ['DELETE FROM ONLY metrics_events', 'ONLY'],
      ['TRUNCATE metrics_events, reference_rows', 'together with other tables'],
    ] as const;
    for (const [sql, what] of refused) {
      const err = await inTransaction((hot) => run(hot, sql)).catch((e: unknown) => e);
      if (!(err instanceof SqlStateError)) throw err;
      expect(err).toMatchObject({ sqlState: '0A000' });
      expect((err as Error).message).toContain(what);
    }
    // WHERE CURRENT OF needs an open cursor.
    const cursor = await inTransaction(async (hot) => {
      await hot.query('DECLARE c CURSOR FOR SELECT * FROM metrics_events');
      await hot.query('FETCH 1 FROM c');
      return run(hot, 'DELETE FROM metrics_events WHERE CURRENT OF c');
    }).catch((e: unknown) => e);
    expect(cursor).toMatchObject({ sqlState: '0A000' });
    expect(await tombstones()).toEqual(before);
    await expectSameContents();
  });

  it('applies tombstones at the next tiering run; deleted rows never come back', async () => {
    // Rows still hot now and moved by this run: the hot part of this delete covers them.
    const sql = "DELETE FROM metrics_events WHERE host = 'h7' AND time < '2026-01-02T06:00:00Z'";
    expect(await tiered(sql)).toBe(await reference(sql));
    expect((await tombstones()).unapplied).toBeGreaterThan(0);
    await tier(W2);
    expect((await tombstones()).unapplied).toBe(0);
    await expectSameContents();
    // The mutation removed the rows from ClickHouse itself: no filter needed any more.
    const raw = await fx.cold.query<{ n: string }>(
      `SELECT count() AS n FROM ${chQualified(fx.database, 'metrics_events')} WHERE host IN ('h1', 'h2') OR (host = 'h7' AND time < toDateTime64('2026-01-02 06:00:00', 6, 'UTC'))`,
    );
    expect(raw[0].n).toBe('0');
    const read = "SELECT time FROM metrics_events WHERE host IN ('h1', 'h2', 'h7')";
    expect(await rowsAsEngineReads(read)).toBe((await fx.hot.query(read.replace('metrics_events', 'reference_rows'))).rowCount);
    // A later run applies nothing again and moves nothing deleted.
    await tier(new Date(DATASET_START + 1.75 * DAY * 60_000).toISOString());
    await expectSameContents();
  });

  it('needs DELETE on the hot table, checked by PostgreSQL and by the tombstone policy', async () => {
    const role = `strata_cold_deleter_${process.pid}`;
    await fx.hot.query(`CREATE ROLE ${role} NOLOGIN`);
    try {
      await fx.hot.query(`GRANT SELECT ON metrics_events TO ${role}`);
      const asRole = (sql: string) =>
        inTransaction(async (hot) => {
          await hot.query(`SET LOCAL ROLE ${role}`);
          return run(hot, sql);
        });
      await expect(asRole("DELETE FROM metrics_events WHERE host = 'h8'")).rejects.toMatchObject({ sqlState: '42501' });
      await expect(asRole("DELETE FROM metrics_events WHERE lower(host) = 'h8'")).rejects.toMatchObject({ sqlState: '42501' });
      await expect(asRole('TRUNCATE metrics_events')).rejects.toMatchObject({ sqlState: '42501' });
      // Around the proxy: a tombstone without DELETE on the table is refused too.
      const direct = inTransaction(async (hot) => {
        await hot.query(`SET LOCAL ROLE ${role}`);
        return hot.query("INSERT INTO strata.cold_deletes (table_name, predicate, max_gen) VALUES ('metrics_events', '1', 1)");
      });
      await expect(direct).rejects.toMatchObject({ code: '42501' });
      await fx.hot.query(`GRANT DELETE ON metrics_events TO ${role}`);
      const sql = "DELETE FROM metrics_events WHERE host = 'h8' AND app = 'db'";
      expect((await asRole(sql)).commandTag).toBe(await reference(sql));
      const by = await fx.hot.query('SELECT deleted_by FROM strata.cold_deletes ORDER BY id DESC LIMIT 1');
      expect(by.rows[0].deleted_by).toBe(role);
      await expectSameContents();
    } finally {
      await fx.hot.query(`DROP OWNED BY ${role}`);
      await fx.hot.query(`DROP ROLE ${role}`);
    }
  });

  it('fails a REPEATABLE READ delete with 40001 when another delete of the table committed after its snapshot', async () => {
    const other = new Client({ connectionString: fx.pgUrl });
    await other.connect();
    try {
      await other.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await other.query('SELECT count(*) FROM metrics_events'); // the snapshot
      const sql = "DELETE FROM metrics_events WHERE host = 'h5' AND app = 'db'";
      expect(await tiered(sql)).toBe(await reference(sql));
      const late = executeTieredDelete(pgHotSession(other, true), parseStatements("DELETE FROM metrics_events WHERE host = 'h6' AND app = 'db'")[0].stmt, {
        relation,
        cold: fx.cold,
        coldDatabase: fx.database,
        params: [],
        paramTypes: [],
      });
      await expect(late).rejects.toMatchObject({ sqlState: '40001' });
      await other.query('ROLLBACK');
      await expectSameContents();
    } finally {
      await other.end();
    }
  });

  it('makes a READ COMMITTED delete wait for a concurrent one of the table, then not count its rows again', async () => {
    const other = new Client({ connectionString: fx.pgUrl });
    await other.connect();
    try {
      // Cold rows only, overlapping in (h3, web): no hot row lock makes the second wait.
      const first = "DELETE FROM metrics_events WHERE host = 'h3' AND time < '2026-01-01T06:00:00Z'";
      const second = "DELETE FROM metrics_events WHERE app = 'web' AND time < '2026-01-01T06:00:00Z'";
      await other.query('BEGIN');
      const firstTag = (await run(pgHotSession(other, true), first)).commandTag;
      let secondDone = false;
      const secondTag = inTransaction((hot) => run(hot, second)).then((r) => {
        secondDone = true;
        return r.commandTag;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(secondDone).toBe(false);
      await other.query('COMMIT');
      expect(firstTag).toBe(await reference(first));
      expect(await secondTag).toBe(await reference(second));
      await expectSameContents();
    } finally {
      await other.end();
    }
  });

  it('refuses to read through a tombstone written around the proxy that is not in the translator\'s grammar', async () => {
    const bad = await fx.hot.query<{ id: string }>(
      "INSERT INTO strata.cold_deletes (table_name, predicate, max_gen) VALUES ('metrics_events', '1) OR (SELECT 1', 1) RETURNING id::text AS id",
    );
    try {
      await expect(readColdDeletes(pgHotSession(fx.hot), ['metrics_events'])).rejects.toMatchObject({ sqlState: 'XX000' });
      await expect(tier(W2)).rejects.toThrow(/cold delete predicate/);
    } finally {
      await fx.hot.query('DELETE FROM strata.cold_deletes WHERE id = $1', [bad.rows[0].id]);
    }
  });

  it('truncates both tiers', async () => {
    const tag = await tiered('TRUNCATE metrics_events');
    expect(tag).toBe('TRUNCATE TABLE');
    await fx.hot.query('TRUNCATE reference_rows');
    expect((await contents()).size).toBe(0);
    await tier(new Date(DATASET_START + 2 * DAY * 60_000).toISOString());
    expect((await tombstones()).unapplied).toBe(0);
    expect((await contents()).size).toBe(0);
  });
});
