import type { Client } from 'pg';
import { exactAggregate } from '../../proxy/src/engine/exact-partials';
import { selectOf } from '../../proxy/src/engine/sql-snippets';
import { deparseStatement, loadSqlParser } from '../../proxy/src/router/sql-parser';
import { adminUrl, withClient } from '../support/postgres';

/**
 * engine/exact-partials.ts's combinations against PostgreSQL's own aggregates, over
 * random data sets: for each (type, data set) PostgreSQL computes sum, avg, var_samp,
 * var_pop, stddev_samp and stddev_pop of the values itself, and the combination over
 * partial rows that stand for the two tiers — per-row hot partials (x, x·x at the column's
 * scale) and grouped cold partials whose text lost its trailing zeros (trim_scale, as
 * ClickHouse prints a Decimal), or cold partials alone. Every result compared as text. Integers and numeric(p,s) of small and
 * large scales, 1 to 3000 values, spread over 1 digit to the column's full width, NULLs.
 */
const TYPES = [
  ['numeric(12,3)', 'numeric'], ['numeric(5,0)', 'numeric'], ['numeric(28,14)', 'numeric'], ['numeric(18,18)', 'numeric'],
  ['numeric(28,0)', 'numeric'], ['numeric(9,9)', 'numeric'], ['numeric(57,20)', 'numeric'],
  ['bigint', 'int8'], ['integer', 'int4'], ['smallint', 'int2'],
] as const;
const AGGREGATES = ['sum', 'avg', 'var_samp', 'var_pop', 'stddev_samp', 'stddev_pop'];
const TRIALS = 300;

/** A fixed sequence in [0, 1) (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The combination of `name` as SQL over partial columns cnt, sx, sx2; undefined where it has none. */
function combination(name: string, kind: string, pgType: string): string | undefined {
  const expr = exactAggregate(name, { kind: kind as 'numeric', pgType }, (fn) => (fn === 'count' ? 'cnt' : fn === 'esum' ? 'sx' : 'sx2'));
  if (!expr) return undefined;
  const sel = selectOf('SELECT 1');
  sel.targetList[0].ResTarget.val = expr;
  return deparseStatement({ SelectStmt: sel }).replace(/^SELECT\s+/, '');
}

jest.setTimeout(60_000);

it('combinations of exact partials give PostgreSQL\'s own sums, averages, variances and standard deviations', async () => {
  await loadSqlParser();
  const next = random(14);
  const differing: string[] = [];
  let compared = 0;
  await withClient(adminUrl(), async (c: Client) => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const [pgType, kind] = TYPES[trial % TYPES.length];
      const [p, s] = kind === 'numeric' ? pgType.match(/\d+/g)!.map(Number) : [{ int8: 18, int4: 9, int2: 4 }[kind], 0];
      const n = 1 + Math.floor(next() * [3, 50, 3000][trial % 3]);
      // Digits that vary at scale s, around a base that leaves room for them: |x| < 10^(p-s).
      const room = Math.min(p - 1, 15);
      const spread = Math.min(next() < 0.3 ? 1 : next() < 0.5 ? 3 : room, room);
      const base = next() < 0.3 || p - s < 2 ? '0' : (next() * 10 ** Math.min(p - s - 1, 15)).toFixed(0);
      const coldOnly = trial % 2 === 0;
      const combined = AGGREGATES.map((a) => combination(a, kind, pgType));
      await c.query(`SELECT setseed(${(trial % 1000) / 1000})`);
      const sql = `WITH v AS (SELECT i, CASE WHEN random() < 0.1 THEN NULL
            ELSE (${base}::numeric + (CASE WHEN random() < 0.5 THEN -1 ELSE 1 END) * trunc(random() * 10^${spread})::numeric / 10^${s})::${pgType} END AS x
          FROM generate_series(1, ${n}) i),
        parts AS (SELECT count(x) AS cnt, trim_scale(sum(x::numeric)) AS sx, trim_scale(sum(x::numeric * x::numeric)) AS sx2 FROM v WHERE i % 3 = 0 OR ${coldOnly} GROUP BY i % 7
          UNION ALL SELECT CASE WHEN x IS NULL THEN 0 ELSE 1 END, x::numeric, x::numeric * x::numeric FROM v WHERE i % 3 <> 0 AND NOT ${coldOnly})
        SELECT ${AGGREGATES.map((a) => `(SELECT ${a}(x) FROM v)::text`).join(', ')},
          ${combined.map((e) => (e ? `(SELECT ${e} FROM parts)::text` : 'NULL')).join(', ')}`;
      const row = (await c.query({ text: sql, rowMode: 'array' })).rows[0] as Array<string | null>;
      AGGREGATES.forEach((a, i) => {
        if (combined[i] === undefined) return;
        compared++;
        if (row[i] !== row[i + AGGREGATES.length]) differing.push(`${a}(${pgType}), ${n} values: ${row[i]} vs ${row[i + AGGREGATES.length]}`);
      });
    }
  });
  expect(differing).toEqual([]);
  // numeric(57,20)'s variances have no exact partials (Σx² would need 133 digits); everything else is compared.
  expect(compared).toBe(TRIALS * AGGREGATES.length - (TRIALS / TYPES.length) * 4);
});
