import { loadSqlParser, parseStatements } from '../router/sql-parser';
import type { TieredRelation } from '../router/catalog-snapshot';
import { ChParams } from './ch-params';
import { conditionToClickHouse } from './ch-condition';
import type { ColumnScope } from './column-scope';

// name: text of a nondeterministic collation ('abc' = 'ABC' in PostgreSQL); tag: the deterministic default.
const scope: ColumnScope = {
  relation: {
    schema: 'public',
    table: 'events',
    timeColumn: 'time',
    mode: 'hot-then-cold',
    columns: [
      { name: 'time', pgType: 'timestamp with time zone', kind: 'timestamptz' },
      { name: 'name', pgType: 'text', kind: 'text', bytewise: false, nondeterministic: true },
      { name: 'tag', pgType: 'text', kind: 'text', bytewise: false, nondeterministic: false },
    ],
  } satisfies TieredRelation,
  refName: 'events',
  soleFromItem: true,
  textFolding: { lowerToAscii: [], upperToAscii: [] },
};

beforeAll(() => loadSqlParser());

describe('text of a nondeterministic collation: nothing relying on byte equality reaches ClickHouse', () => {
  const cases: Array<[string, string | undefined]> = [
    ["name = 'abc'", undefined],
    ["'abc' = name", undefined],
    ["name <> 'abc'", undefined],
    ["name IN ('abc', 'x')", undefined],
    ["name NOT IN ('abc', 'x')", undefined],
    ["name LIKE 'ab%'", undefined],
    ["name ILIKE 'ab%'", undefined],
    ["name ~ '^ab'", undefined],
    ["lower(name) = 'abc'", undefined],
    ["position('b' IN name) > 0", undefined],
    ["starts_with(name, 'ab')", undefined],
    ["name ^@ 'ab'", undefined],
    ["tag = 'x' AND name = 'abc'", undefined],
    ['name IS NULL', '`name` IS NULL'],
    ['name COLLATE "C" = \'abc\'', '`name` = {p0:String}'], // the explicit collation wins: bytes
    ["tag = 'abc'", '`tag` = {p0:String}'],
    ["tag IN ('abc', 'x')", '`tag` IN ({p0:String}, {p1:String})'],
    ["tag LIKE 'ab%'", '`tag` LIKE {p0:String}'],
    ['tag = \'abc\' COLLATE "und-x-icu"', undefined], // a collation on the constant: PostgreSQL decides
  ];
  it.each(cases)('%s', (cond, expected) => {
    const where = parseStatements(`SELECT 1 FROM events WHERE ${cond}`)[0].stmt.SelectStmt.whereClause;
    expect(conditionToClickHouse(scope, where, new ChParams())).toBe(expected);
  });
});
