import type { Client } from 'pg';
import { coldSqlOf, sameAsReference, startDifferentialBed, textOutcome as outcome, tieredSpec, type DifferentialBed } from './differential-bed';

/**
 * Text of a nondeterministic collation through the real proxy against PostgreSQL holding
 * every row: under `ci` (ICU und-u-ks-level2, deterministic = false) 'abc' = 'ABC', so
 * nothing that takes byte equality for PostgreSQL's equality reaches ClickHouse
 * (column-scope.ts equalsAsBytes): =, <>, IN, NOT IN, LIKE (PostgreSQL's own 0A000),
 * count(DISTINCT), whole-aggregate groups. `tag` (the database default, deterministic)
 * is still pushed. Values differ only in case, and each case lies in both tiers.
 */
const TABLE = tieredSpec({
  table: 'ci_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'name', type: 'text' },
    { name: 'tag', type: 'text' },
    { name: 'n', type: 'integer' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['time'], partitionBy: 'day' },
});
const VALUES = `ARRAY['abc', 'ABC', 'Abc', 'abd', 'ABD', NULL, 'x', 'X', '']`;
const ROWS = `SELECT t, (${VALUES})[1 + g.n % 9], (${VALUES})[1 + (g.n * 7) % 9], g.n::int4 % 4
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-03 23:50+00', interval '10 minutes') WITH ORDINALITY g(t, n)`;
const W = '2026-01-03T00:00:00Z';
const CI = `CREATE COLLATION IF NOT EXISTS ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`;

jest.setTimeout(60_000);

describe('text of a nondeterministic collation through the proxy', () => {
  let bed: DifferentialBed;
  let client: Client;

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, {
      reference: 'ci_reference',
      rows: ROWS,
      partitions: ['2026-01-02T00:00:00Z', '2026-01-05T00:00:00Z'],
      watermark: W,
      password: 'ci-collation',
      setup: [CI],
      collations: { name: 'ci' },
    });
    client = bed.client;
  }, 120_000);
  afterAll(async () => bed?.close());

  /** PostgreSQL's answer or error checked; the proxy's EXPLAIN ('' after an error). */
  const sameAsPostgres = (sql: string) => sameAsReference(bed, sql);

  test.each([
    `SELECT count(*) FROM ci_events WHERE name = 'abc'`,
    `SELECT time, name FROM ci_events WHERE name = 'ABD' ORDER BY time`,
    `SELECT count(*) FROM ci_events WHERE 'x' = name`,
    `SELECT count(*) FROM ci_events WHERE name IN ('abc', 'x')`,
    `SELECT count(*) FROM ci_events WHERE name <> 'abc'`,
    `SELECT count(*) FROM ci_events WHERE name NOT IN ('abc', 'x')`,
    `SELECT count(*) FROM ci_events WHERE name = 'abc' AND time >= '2026-01-02T06:00:00Z'`,
    `SELECT count(*) FROM ci_events WHERE lower(name) = 'abc'`,
    `SELECT count(DISTINCT name) FROM ci_events`,
    `SELECT n, count(DISTINCT name) FROM ci_events GROUP BY n ORDER BY n`,
    `SELECT lower(name), count(*) FROM ci_events GROUP BY name ORDER BY 1`,
    `SELECT lower(name), count(*), count(DISTINCT n) FROM ci_events GROUP BY name ORDER BY 1`,
    `SELECT count(*) FROM (SELECT DISTINCT name FROM ci_events) s`,
    // Cold rows only: PostgreSQL evaluates and groups them without the hot table beside them.
    `SELECT count(*) FROM ci_events WHERE name = 'abc' AND time < '2026-01-02T00:00:00Z'`,
    `SELECT lower(name), count(*) FROM ci_events WHERE time < '2026-01-02T00:00:00Z' GROUP BY name ORDER BY 1`,
    `SELECT count(DISTINCT name) FROM ci_events WHERE time < '2026-01-02T00:00:00Z'`,
  ])('%s: PostgreSQL’s answer, no byte equality of name in ClickHouse', async (sql) => {
    const plan = await sameAsPostgres(sql);
    expect(coldSqlOf(plan)).not.toMatch(/`name` (=|<>|IN|NOT IN) |uniqExact\(`name`\)/);
  });

  test.each([
    `SELECT count(*) FROM ci_events WHERE name LIKE 'ab%'`,
    `SELECT count(*) FROM ci_events WHERE name ILIKE 'AB%'`,
    `SELECT count(*) FROM ci_events WHERE name ~ '^ab'`,
    `SELECT count(*) FROM ci_events WHERE starts_with(name, 'ab')`,
    // Cold rows only: no hot row for PostgreSQL to raise it on unless the condition stays there.
    `SELECT count(*) FROM ci_events WHERE name LIKE 'ab%' AND time < '2026-01-02T00:00:00Z'`,
    `SELECT count(*) FROM ci_events WHERE name ~ '^ab' AND time < '2026-01-02T00:00:00Z'`,
    `SELECT count(*) FROM ci_events WHERE position('b' IN name) > 0 AND time < '2026-01-02T00:00:00Z'`,
  ])('%s: PostgreSQL’s own error reaches the client', async (sql) => {
    const actual = await outcome(client, sql);
    expect(actual).toMatchObject({ ok: false, code: '0A000' });
    await sameAsPostgres(sql);
  });

  test.each([
    [`SELECT count(*) FROM ci_events WHERE tag = 'abc'`, '`tag` = {'],
    [`SELECT count(*) FROM ci_events WHERE tag IN ('abc', 'x')`, '`tag` IN ('],
    [`SELECT count(*) FROM ci_events WHERE tag LIKE 'ab%'`, '`tag` LIKE {'],
    [`SELECT count(*) FROM ci_events WHERE name COLLATE "C" = 'abc'`, '`name` = {'],
    [`SELECT count(DISTINCT tag) FROM ci_events`, 'uniqExact(`tag`)'],
  ])('%s: a deterministic comparison is still in ClickHouse’s SQL', async (sql, pushed) => {
    expect(coldSqlOf(await sameAsPostgres(sql))).toContain(pushed);
  });

  test('a DELETE of cold rows by name is refused, not sent to ClickHouse as byte equality', async () => {
    const sql = `DELETE FROM ci_events WHERE name = 'abc' AND time < '2026-01-02T00:00:00Z'`;
    expect(await outcome(client, sql)).toMatchObject({ ok: false, code: '0A000' });
    await sameAsPostgres(`SELECT count(*) FROM ci_events WHERE name = 'abc'`);
  });
});
