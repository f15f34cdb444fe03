import { validateTieredTable } from '@strata/core';
import { catalogSnapshot } from '../router/catalog-snapshot';
import { loadSqlParser, parseStatements } from '../router/sql-parser';
import { instantFromEpochText } from '../translate/instant';
import { coldQuery, planStatement } from './plan';
import { boundOfListing, countLatestRows } from './latest-parts-bound';

/**
 * Where the cold top-N carries a bound from part metadata (latest-parts-bound.ts), and
 * that it always carries the unbounded read to fall back on. Proxy answers and what
 * ClickHouse prunes with it: test/routing/latest-rows.test.ts.
 */
const r = validateTieredTable({
  table: 'logs',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'n', type: 'integer' },
  ],
  cold: { orderBy: ['time'] },
});
if (!r.ok) throw new Error(JSON.stringify(r.errors));
const snapshot = catalogSnapshot([r.spec]);
const W = instantFromEpochText('1767571200'); // 2026-01-05

beforeAll(() => loadSqlParser());

/** The statement's cold read; its time bound literals are the instants PostgreSQL would evaluate (the date literals below). */
function coldRead(sql: string) {
  const p = planStatement(parseStatements(sql)[0].stmt, snapshot, { utc: true, includeHot: true });
  const values = [...sql.matchAll(/'(\d{4}-\d\d-\d\d)'/g)].map((m) => BigInt(Date.parse(`${m[1]}T00:00:00Z`)) * 1000n);
  return coldQuery(p.occurrences[0], values, W, '`_strata_gen` <= 3', 'strata');
}

describe('the latest rows bounded by part metadata', () => {
  it.each([
    ['the latest rows', 'SELECT * FROM logs ORDER BY time DESC LIMIT 100 OFFSET 20', '`time` >= (SELECT toDateTime64(min(min_time)', 120n],
    ['the earliest rows', 'SELECT * FROM logs ORDER BY time LIMIT 5', "`time` < (SELECT toDateTime64(max(max_time), 6, 'UTC') + toIntervalSecond(1)", 5n],
    ['a lower bound three days below W', "SELECT * FROM logs WHERE time >= '2026-01-02' ORDER BY time DESC LIMIT 5", '`time` >= (SELECT', 5n],
  ])('%s: bounded, with the unbounded read to fall back on', (_name, sql, condition, rows) => {
    const q = coldRead(sql);
    expect(q.sql).toContain(` WHERE ${condition}`);
    expect(q.sql).toContain('FROM system.parts WHERE database = ');
    expect(q.latest?.rows).toBe(rows);
    expect(q.latest?.unbounded.sql).not.toContain('system.parts');
    expect(q.latest?.unbounded.sql).toBe(q.sql.replace(/ WHERE `time` [<>]=? \(SELECT .*?running - rows < \d+\) AND /, ' WHERE '));
  });

  it.each([
    ['a lower bound a day below W', "SELECT * FROM logs WHERE time >= '2026-01-04' ORDER BY time DESC LIMIT 5"],
    ['another column first', 'SELECT * FROM logs ORDER BY n DESC, time LIMIT 5'],
    ['no top-N', 'SELECT * FROM logs WHERE n > 3'],
  ])('%s: no bound', (_name, sql) => {
    const q = coldRead(sql);
    expect(q.sql).not.toContain('system.parts');
    expect(q.latest).toBeUndefined();
  });
});

describe('counting a cut by latestRows’ rule', () => {
  const unbounded = { sql: 'SELECT x FROM t ORDER BY x LIMIT 5 WITH TIES', params: {} };
  const bounded = { sql: 'SELECT x FROM t WHERE x >= B ORDER BY x LIMIT 5 WITH TIES', params: {}, latest: { rows: 5n, unbounded } };
  /** A cold store that answers each count from `counts`, keyed by the counted statement. */
  function coldCounting(counts: Record<string, number>) {
    const asked: string[] = [];
    return {
      asked,
      async queryTsv(sql: string) {
        asked.push(sql);
        const inner = sql.replace(/^SELECT count\(\) FROM \((.*)\)$/, '$1');
        return `${counts[inner]}\n`;
      },
    };
  }

  it('keeps the bounded count when it reaches n + m rows (ties included)', async () => {
    const cold = coldCounting({ [bounded.sql]: 7 });
    await expect(countLatestRows(cold, bounded)).resolves.toBe(7n);
    expect(cold.asked).toHaveLength(1);
  });

  it('counts the unbounded read when the bounded one falls short', async () => {
    const cold = coldCounting({ [bounded.sql]: 3, [unbounded.sql]: 9 });
    await expect(countLatestRows(cold, bounded)).resolves.toBe(9n);
    expect(cold.asked).toEqual([`SELECT count() FROM (${bounded.sql})`, `SELECT count() FROM (${unbounded.sql})`]);
  });

  it('counts an unbounded read once', async () => {
    const cold = coldCounting({ [unbounded.sql]: 2 });
    await expect(countLatestRows(cold, unbounded)).resolves.toBe(2n);
  });
});

describe('the bound from a listing of the parts (part-listings.ts)', () => {
  const S = 1_000_000n;
  // Three day parts of 10 rows, the newest split in two parts of 4 and 6.
  const day = (d: number) => BigInt(d) * 86_400n * S;
  const parts = [
    { minUs: day(0), maxUs: day(1) - S, rows: 10n },
    { minUs: day(1), maxUs: day(2) - S, rows: 10n },
    { minUs: day(2), maxUs: day(3) - S, rows: 4n },
    { minUs: day(2) + 3600n * S, maxUs: day(3) - S, rows: 6n },
  ];

  it('DESC: the least min_time of the newest parts up to the one reaching n + m rows', () => {
    expect(boundOfListing(parts, true, 6n)).toBe(day(2) + 3600n * S);
    expect(boundOfListing(parts, true, 7n)).toBe(day(2));
    expect(boundOfListing(parts, true, 20n)).toBe(day(1));
  });

  it("ASC: the greatest max_time of the oldest parts, a second past it (min_time and max_time are whole seconds)", () => {
    expect(boundOfListing(parts, false, 10n)).toBe(day(1));
    expect(boundOfListing(parts, false, 11n)).toBe(day(2));
  });

  it('counts only the parts in range', () => {
    // Below day 2: the newest parts are out of range, the bound starts at day 1's.
    expect(boundOfListing(parts, true, 5n, undefined, day(2))).toBe(day(1));
    // From day 1 on, ASC: day 0's part is out of range.
    expect(boundOfListing(parts, false, 5n, day(1))).toBe(day(2));
  });

  it('none where it would prune no part in range, or no part is in range', () => {
    expect(boundOfListing(parts, true, 21n)).toBeUndefined();
    expect(boundOfListing(parts, true, 30n)).toBeUndefined();
    expect(boundOfListing(parts, false, 100n)).toBeUndefined();
    expect(boundOfListing(parts, true, 5n, day(5))).toBeUndefined();
    expect(boundOfListing([], true, 5n)).toBeUndefined();
    // A partition key not on a time column: system.parts says 0 for both.
    expect(boundOfListing([...parts, { minUs: 0n, maxUs: 0n, rows: 7n }], true, 5n)).toBeUndefined();
  });
});
