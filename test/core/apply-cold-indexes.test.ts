import { Client, Pool } from 'pg';
import { applyTable, ensurePartitions, runTiering, validateTieredTable, type TieredTableSpec } from '@strata/core';
import { createTierEngine, loadCatalogSnapshot } from '../../proxy/src/engine';
import { loadSqlParser } from '../../proxy/src/router';
import type { EngineResult } from '../../proxy/src/engine/contract';
import { tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';

/**
 * spec.cold.indexes against the real ClickHouse engine: created with the table, then
 * added, changed and dropped by re-applying (what `strata apply` and the operator run),
 * built for rows already stored, used by ClickHouse for the conditions the proxy
 * pushes, and a search through the engine still answers as PostgreSQL does.
 */

function logsSpec(indexes: unknown[]): TieredTableSpec {
  const r = validateTieredTable({
    table: 'indexed_logs',
    timeColumn: 'time',
    columns: [
      { name: 'time', type: 'timestamptz' },
      { name: 'host', type: 'text', notNull: true },
      { name: 'msg', type: 'text' },
    ],
    hot: { chunkInterval: '1h', retention: '24h' },
    cold: { orderBy: ['time'], partitionBy: 'day', indexes },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}

const V1 = [
  { name: 'msg_text', column: 'msg', type: 'text' },
  { name: 'host_ngram', column: 'host', type: 'ngrambf_v1', params: [3, 256, 2, 0], granularity: 1 },
];
const V2 = [
  { name: 'msg_text', column: 'msg', type: 'text' },
  { name: 'host_ngram', column: 'host', type: 'ngrambf_v1', params: [3, 1024, 2, 0], granularity: 1 }, // changed
  { name: 'msg_lower', expression: 'lower(msg)', type: 'text' }, // added
];
const V3 = [{ name: 'msg_lower', expression: 'lower(msg)', type: 'text' }]; // two dropped

/** A row a second over two days (cold: one day, ~11 granules); an error line in 50,000. */
const ROWS = `SELECT timestamptz '2026-01-01 00:00+00' + n * interval '1 second', 'host-' || (n % 50),
    CASE WHEN n % 50000 = 7 THEN 'ERROR: disk full on İstanbul-' || n WHEN n % 97 = 0 THEN NULL ELSE 'ok request ' || n END
  FROM generate_series(0, 172799) n`;
const W = '2026-01-02T00:00:00Z';

jest.setTimeout(120_000);

describe('spec.cold.indexes on the real ClickHouse engine', () => {
  let fx: TieredFixture;
  const apply = (spec: TieredTableSpec) => applyTable({ hot: fx.hot, cold: fx.cold, coldTarget: { database: fx.database } }, spec, new Date('2026-01-01T00:00:00Z'));

  async function indexes(): Promise<string[]> {
    const rows = await fx.cold.query<{ name: string; expr: string; type_full: string; granularity: string }>(
      `SELECT name, expr, type_full, granularity FROM system.data_skipping_indices WHERE database = {db:String} AND table = 'indexed_logs' AND name != '_strata_gen_idx' ORDER BY name`,
      { db: fx.database },
    );
    return rows.map((r) => `${r.name} ${r.expr} ${r.type_full}`);
  }

  /** Index names ClickHouse's EXPLAIN says it used for `where` on the raw table, with their granules. */
  async function indexUse(where: string): Promise<string> {
    const rows = await fx.cold.query<{ explain: string }>(`EXPLAIN indexes = 1 SELECT count() FROM \`${fx.database}\`.indexed_logs WHERE ${where}`);
    return rows.map((r) => r.explain.trim()).filter((l) => /^(Name|Granules):/.test(l)).join(' ');
  }

  beforeAll(async () => {
    await loadSqlParser();
    fx = await tieredFixture(logsSpec(V1));
    await ensurePartitions(fx.hot, fx.spec, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-03T00:00:00Z'));
    await fx.hot.query('CREATE TABLE indexed_reference (time timestamptz, host text, msg text)');
    for (const t of ['indexed_logs', 'indexed_reference']) await fx.hot.query(`INSERT INTO ${t} ${ROWS}`);
    await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'indexed_logs', until: new Date(W) });
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('creates the declared indexes with the table', async () => {
    expect(await indexes()).toEqual(["host_ngram host ngrambf_v1(3, 256, 2, 0)", "msg_text msg text(tokenizer = 'splitByNonAlpha')"]);
  });

  it('re-applying adds, changes and drops indexes and builds them for stored rows', async () => {
    const r2 = await apply(logsSpec(V2));
    expect(r2.changes).toEqual(['cold index host_ngram changed (built for stored rows by MATERIALIZE INDEX)', 'cold index msg_lower added (built for stored rows by MATERIALIZE INDEX)']);
    expect(await indexes()).toEqual(["host_ngram host ngrambf_v1(3, 1024, 2, 0)", "msg_lower lower(msg) text(tokenizer = 'splitByNonAlpha')", "msg_text msg text(tokenizer = 'splitByNonAlpha')"]);
    // MATERIALIZE INDEX is a mutation; once done, the rows stored before the index have it.
    await waitForMutations();
    expect(await indexUse("lower(msg) LIKE '%disk full%'")).toMatch(/Name: msg_lower Granules: \d+\/\d+/);
    expect(await apply(logsSpec(V2))).toMatchObject({ action: 'unchanged' });

    const r3 = await apply(logsSpec(V3));
    expect([...r3.changes].sort()).toEqual(['cold index host_ngram dropped', 'cold index msg_text dropped']);
    expect(await indexes()).toEqual(["msg_lower lower(msg) text(tokenizer = 'splitByNonAlpha')"]);
    await apply(logsSpec(V1)); // back, for the tests below
    await waitForMutations();
  });

  async function waitForMutations(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const r = await fx.cold.query<{ n: string }>(`SELECT count() AS n FROM system.mutations WHERE database = {db:String} AND NOT is_done`, { db: fx.database });
      if (Number(r[0].n) === 0) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('MATERIALIZE INDEX did not finish');
  }

  it('ClickHouse skips granules with them for the conditions the proxy pushes', async () => {
    const used = await indexUse("msg LIKE '% disk full %'"); // whole words: the text index cannot use the partial ones of '%disk full%'
    const [, kept, total] = /Name: msg_text Granules: (\d+)\/(\d+)/.exec(used) ?? [];
    expect(Number(kept)).toBeLessThan(Number(total));
    expect(await indexUse("host LIKE '%st-4%'")).toMatch(/Name: host_ngram Granules: \d+\/\d+/);
  });

  it('a search through the engine on the indexed columns answers as PostgreSQL does', async () => {
    const pool = new Pool({ connectionString: fx.pgUrl, max: 2 });
    const ref = new Client({ connectionString: fx.pgUrl, types: { getTypeParser: () => (v: string) => v } });
    await ref.connect();
    try {
      const engine = createTierEngine({ hot: pool, cold: fx.cold, coldDatabase: fx.database, catalog: await loadCatalogSnapshot(fx.hot) });
      for (const where of ["msg ILIKE '%disk FULL%'", "msg LIKE '%disk full%'", "msg ~* 'error: disk'", "host LIKE '%st-4_'", "position('full' in msg) > 0"]) {
        const sql = `SELECT time, host, msg FROM indexed_logs WHERE ${where} ORDER BY time`;
        const r: EngineResult = await engine.execute({ sql, params: [], paramTypes: [] }, { user: 'postgres', database: 'test', inTransaction: false, settings: new Map() });
        const actual: Array<Array<string | null>> = [];
        for await (const row of r.rows) actual.push(row);
        const expected = (await ref.query({ text: sql.replace('indexed_logs', 'indexed_reference'), rowMode: 'array' })).rows;
        expect({ where, rows: actual }).toEqual({ where, rows: expected });
        expect(actual.length).toBeGreaterThan(0);
      }
    } finally {
      await ref.end();
      await pool.end();
    }
  });
});
