import { coldSqlOf, sameAsReference, startDifferentialBed, tieredSpec, type DifferentialBed } from './differential-bed';

/**
 * Case-insensitive conditions fold by the column's effective collation, as PostgreSQL
 * folds them (translate/text-folding.ts CaseFolding), through the real proxy against
 * PostgreSQL holding every row. One tiered table, three text columns of three collations
 * holding the same values: def the database default (libc C.UTF-8 here: lower('İ') is
 * 'i', upper('ſ') is 'S', lower(Kelvin sign) is 'k'), c `COLLATE "C"` (ASCII only),
 * icu `COLLATE "en-x-icu"` (full case mapping: lower('İ') is 'i̇', upper('ß') is 'SS').
 * Each value lies in both tiers.
 */
const TABLE = tieredSpec({
  table: 'fold_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'def', type: 'text' },
    { name: 'c', type: 'text' },
    { name: 'icu', type: 'text' },
    { name: 'n', type: 'integer' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['time'], partitionBy: 'day' },
});
const VALUES = `ARRAY['İstanbul', 'istanbul', 'ISTANBUL', chr(8490) || 'ELVIN', 'kelvin', 'ſtraße', 'STRASSE', 'Straße', 'Hello World', 'hELLO', NULL, '']`;
const ROWS = `SELECT t, v, v, v, g.n::int4 % 5
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-03 23:00+00', interval '1 hour') WITH ORDINALITY g(t, n),
       LATERAL (SELECT (${VALUES})[1 + g.n % 12] AS v) v`;
const W = '2026-01-03T00:00:00Z';

/** The conditions, each over an operand: a column, or a column under an explicit COLLATE. */
const CONDITIONS = [
  (x: string) => `${x} ILIKE '%i%'`,
  (x: string) => `${x} ILIKE 'k%'`,
  (x: string) => `lower(${x}) = 'istanbul'`,
  (x: string) => `upper(${x}) LIKE 'S%'`,
  (x: string) => `upper(${x}) = 'STRASSE'`,
  (x: string) => `${x} ~* 'str'`,
  (x: string) => `starts_with(lower(${x}), 'k')`,
  (x: string) => `position('SS' IN upper(${x})) > 0`,
];
/** [operand, its column, whether the condition is pushed to ClickHouse] */
const OPERANDS: Array<[string, string, boolean]> = [
  ['def', 'def', true],
  ['c', 'c', true],
  ['icu', 'icu', false],
  ['def COLLATE "C"', 'def', true],
  ['icu COLLATE "C"', 'icu', true],
  ['c COLLATE "en-x-icu"', 'c', false],
  ['def COLLATE "en-x-icu"', 'def', false],
];
const CASES = OPERANDS.flatMap(([x, column, pushed]) => CONDITIONS.map((cond): [string, string, boolean] => [cond(x), column, pushed]));

jest.setTimeout(60_000);

describe('case folding by the column’s collation through the proxy', () => {
  let bed: DifferentialBed;

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, {
      reference: 'fold_reference',
      collations: { c: 'C', icu: 'en-x-icu' },
      rows: ROWS,
      partitions: ['2026-01-02T00:00:00Z', '2026-01-05T00:00:00Z'],
      watermark: W,
      password: 'collation-folding',
    });
  }, 120_000);
  afterAll(async () => bed?.close());

  /** PostgreSQL's answer checked, the query sent to ClickHouse. */
  const checkedColdSql = async (sql: string) => coldSqlOf(await sameAsReference(bed, sql, { referenceAnswers: true }));
  /** The column folded in ClickHouse's SQL: lower(`c`), upper(translateUTF8(`c`, …)). */
  const folded = (column: string) => new RegExp(`(lower|upper)\\((translateUTF8\\()?\`${column}\``);

  test.each(CASES)('%s: PostgreSQL’s rows in both tiers', async (cond, column, pushed) => {
    const cold = await checkedColdSql(`SELECT time, def, n FROM fold_events WHERE ${cond} ORDER BY time`);
    if (pushed) expect(cold).toMatch(folded(column));
    else expect(cold).not.toMatch(folded(column));
  });

  test.each(CASES.filter((_, i) => i % 2 === 0))('%s: PostgreSQL’s count over cold rows only', async (cond, column, pushed) => {
    const cold = await checkedColdSql(`SELECT count(*) FROM fold_events WHERE ${cond} AND time < '2026-01-02T00:00:00Z'`);
    if (pushed) expect(cold).toMatch(folded(column));
    else expect(cold).not.toMatch(folded(column));
  });

  test.each([
    [`SELECT count(*) FROM fold_events WHERE def ILIKE '%i%'`, true],
    [`SELECT count(*) FROM fold_events WHERE c ILIKE '%i%'`, false],
    [`SELECT count(*) FROM fold_events WHERE upper(def) LIKE 'S%'`, true],
    [`SELECT count(*) FROM fold_events WHERE upper(c) LIKE 'S%'`, false],
    [`SELECT count(*) FROM fold_events WHERE def COLLATE "C" ILIKE 'k%'`, false],
  ])('%s: the database’s translation only for the default collation', async (sql, translated) => {
    const cold = await checkedColdSql(sql);
    expect(cold).toMatch(/(lower|upper)\(/);
    if (translated) expect(cold).toContain('translateUTF8(');
    else expect(cold).not.toContain('translateUTF8(');
  });
});
