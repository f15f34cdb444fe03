import { loadSqlParser, parseStatements, type PgNode } from '../router/sql-parser';
import type { TieredRelation } from '../router/catalog-snapshot';
import { ChParams } from './ch-params';
import { conditionToClickHouse } from './ch-condition';
import type { ColumnScope } from './column-scope';
import { collationOrdersAsBytes, textOperand, type DatabaseTextOrder } from './text-order';

// host: a column PostgreSQL orders byte-wise (COLLATE "C", or a probed C.UTF-8 default); app: another collation.
const relation: TieredRelation = {
  schema: 'public',
  table: 'metrics_events',
  timeColumn: 'time',
  mode: 'hot-then-cold',
  columns: [
    { name: 'time', pgType: 'timestamp with time zone', kind: 'timestamptz' },
    { name: 'host', pgType: 'text', kind: 'text', bytewise: true },
    { name: 'app', pgType: 'text', kind: 'text', bytewise: false },
    { name: 'n', pgType: 'integer', kind: 'int4' },
  ],
};
const scope: ColumnScope = { relation, refName: 'm', soleFromItem: true };

beforeAll(() => loadSqlParser());

function where(sqlWhere: string): PgNode {
  return parseStatements(`SELECT 1 FROM metrics_events m WHERE ${sqlWhere}`)[0].stmt.SelectStmt.whereClause;
}

describe('text ordering conditions reach ClickHouse only where PostgreSQL orders as bytes', () => {
  const cases: Array<[string, string | undefined]> = [
    ["host > 'm'", '`host` > {p0:String}'],
    ["'m' >= m.host", '`host` <= {p0:String}'],
    ["host BETWEEN 'a' AND 'b'", '(`host` >= {p0:String} AND `host` <= {p1:String})'],
    ["host NOT BETWEEN 'a' AND 'b'", '(`host` < {p0:String} OR `host` > {p1:String})'],
    ["host BETWEEN SYMMETRIC 'b' AND 'a'", undefined],
    ["app > 'm'", undefined], // its collation is not byte order
    ["app BETWEEN 'a' AND 'b'", undefined],
    ['app COLLATE "C" > \'m\'', '`app` > {p0:String}'],
    ['app COLLATE "POSIX" <= \'m\'', '`app` <= {p0:String}'],
    ['app COLLATE pg_catalog."C" < \'m\'', '`app` < {p0:String}'],
    ['app COLLATE "ucs_basic" BETWEEN \'a\' AND \'b\'', '(`app` >= {p0:String} AND `app` <= {p1:String})'],
    ['\'m\' < app COLLATE "C"', '`app` > {p0:String}'],
    ['app COLLATE "en-x-icu" > \'m\'', undefined],
    ['host COLLATE "en-x-icu" > \'m\'', undefined], // the explicit collation wins over the column's
    ['host COLLATE "und-x-icu" = \'m\'', undefined], // another collation may even be nondeterministic
    ['host > \'m\' COLLATE "en-x-icu"', undefined],
    ['app COLLATE "C" = \'m\'', '`app` = {p0:String}'],
    ['host > app', undefined],
  ];
  it.each(cases)('%s', (cond, expected) => {
    expect(conditionToClickHouse(scope, where(cond), new ChParams('p'))).toBe(expected);
  });

  it('passes the constant as a parameter', () => {
    const p = new ChParams('p');
    conditionToClickHouse(scope, where("host BETWEEN 'é' AND '中'"), p);
    expect(p.values).toEqual({ p0: 'é', p1: '中' });
  });

  it('names the column under COLLATE "C" whatever its own collation', () => {
    expect(textOperand(scope, where('app COLLATE "C" > \'x\'').A_Expr.lexpr)).toEqual({ column: 'app', bytewise: true, collated: true });
    expect(textOperand(scope, where("app > 'x'").A_Expr.lexpr)).toEqual({ column: 'app', bytewise: false });
    expect(textOperand(scope, where("n > 1").A_Expr.lexpr)).toBeUndefined();
  });
});

describe('collationOrdersAsBytes', () => {
  const probed: DatabaseTextOrder = { defaultBytewise: true, cUtf8Bytewise: true };
  const cDefault: DatabaseTextOrder = { defaultBytewise: true, cUtf8Bytewise: false };
  const other: DatabaseTextOrder = { defaultBytewise: false, cUtf8Bytewise: false };
  const cases: Array<[string, string | null, DatabaseTextOrder | undefined, boolean]> = [
    ['c', 'C', other, true],
    ['c', 'POSIX', undefined, true],
    ['d', null, probed, true],
    ['d', null, other, false],
    ['d', null, undefined, false], // not probed
    ['c', 'C.utf8', probed, true],
    ['c', 'C.UTF-8', cDefault, false], // a C default says nothing of this C library's C.UTF-8
    ['c', 'en_US.utf8', probed, false],
    ['i', 'en-US', probed, false],
  ];
  it.each(cases)('%s %s', (provider, locale, database, expected) => {
    expect(collationOrdersAsBytes(provider, locale, database)).toBe(expected);
  });
});
