import { deparseStatement, loadSqlParser, parseStatements, type PgNode } from '../router/sql-parser';
import type { TieredRelation } from '../router/catalog-snapshot';
import { conjuncts } from './ast';
import { ChParams } from './ch-params';
import { conditionToClickHouse } from './ch-condition';
import type { ColumnScope } from './column-scope';
import { chDateTime64, instantFromEpochText, isoInstant, NEG_INFINITY, POS_INFINITY } from './instant';
import { fixedIntervalUs, timeGranularity } from './time-granularity';
import { SLACK_US, hasSlack, intersectRanges, isEmptyRange, belowRange, rangeOf, timePredicateOf, timePredicateToClickHouse } from './time-predicate';

const relation: TieredRelation = {
  schema: 'public',
  table: 'metrics_events',
  timeColumn: 'time',
  mode: 'hot-then-cold',
  columns: [
    { name: 'time', pgType: 'timestamp with time zone', kind: 'timestamptz' },
    { name: 'app', pgType: 'text', kind: 'text' },
    { name: 'host', pgType: 'text', kind: 'text' },
    { name: 'labels', pgType: 'jsonb', kind: 'jsonb' },
    { name: 'value', pgType: 'double precision', kind: 'float8' },
    { name: 'n', pgType: 'integer', kind: 'int4' },
  ],
};
const scope: ColumnScope = { relation, refName: 'm', soleFromItem: true };

beforeAll(() => loadSqlParser());

function where(sqlWhere: string): PgNode {
  return parseStatements(`SELECT 1 FROM metrics_events m WHERE ${sqlWhere}`)[0].stmt.SelectStmt.whereClause;
}
function targets(exprs: string): PgNode[] {
  return parseStatements(`SELECT ${exprs} FROM metrics_events m`)[0].stmt.SelectStmt.targetList;
}
const us = (iso: string) => BigInt(Date.parse(iso)) * 1000n;

describe('conditionToClickHouse: only exact translations', () => {
  const cases: Array<[string, string | undefined, Record<string, unknown>?]> = [
    ["host = 'h1'", '`host` = {p0:String}', { p0: 'h1' }],
    ["m.host <> 'h1'", '`host` <> {p0:String}', { p0: 'h1' }],
    ["'h1' = host", '`host` = {p0:String}', { p0: 'h1' }],
    ["app IN ('api', 'db')", '`app` IN ({p0:String}, {p1:String})', { p0: 'api', p1: 'db' }],
    ["app NOT IN ('api')", '`app` NOT IN ({p0:String})', { p0: 'api' }],
    // PostgreSQL orders NaN above every number; ClickHouse's comparisons with NaN are false.
    ['value >= 50', '(`value` >= {p0:Int64} OR isNaN(`value`))', { p0: '50' }],
    ['50 < value', '(`value` > {p0:Int64} OR isNaN(`value`))', { p0: '50' }],
    ['value < 10.5', '`value` < {p0:Float64}', { p0: '10.5' }],
    ['value <= -0.0', '`value` <= {p0:Float64}', { p0: '-0.0' }],
    ['value <> 1.5', '`value` <> {p0:Float64}', { p0: '1.5' }], // NaN <> 1.5 in both
    ['NOT (value > 1)', '(NOT (`value` > {p0:Int64} OR isNaN(`value`)))'],
    ['n > 5', '`n` > {p0:Int64}'], // integers have no NaN
    // ClickHouse's IN matches float bits (-0 IN (0) is false); `=` says -0 = 0 as PostgreSQL does.
    ['value IN (0, 7.5)', '(`value` = {p0:Int64} OR `value` = {p1:Float64})', { p0: '0', p1: '7.5' }],
    ['value NOT IN (0)', '(NOT (`value` = {p0:Int64}))'],
    ['n IN (1, 2)', '`n` IN ({p0:Int64}, {p1:Int64})'],
    ['value BETWEEN -1 AND 2.5', '((`value` >= {p0:Int64} OR isNaN(`value`)) AND `value` <= {p1:Float64})', { p0: '-1', p1: '2.5' }],
    ['value NOT BETWEEN -1 AND 2', '(`value` < {p0:Int64} OR (`value` > {p1:Int64} OR isNaN(`value`)))'],
    ['n BETWEEN 1 AND 3', '(`n` >= {p0:Int64} AND `n` <= {p1:Int64})'],
    ['value BETWEEN SYMMETRIC 2 AND 1', undefined],
    ["value > 'NaN'", undefined], // only number literals are pushed
    ["host BETWEEN 'a' AND 'b'", undefined],
    ['n < 10.5', undefined], // int4 vs numeric: PostgreSQL compares exactly, not as floats
    ['host IS NULL', '`host` IS NULL'],
    ['value IS NOT NULL', '`value` IS NOT NULL'],
    ["labels->>'env' = 'prod'", 'JSONExtractString(`labels`, {p0:String}) = {p1:String}', { p0: 'env', p1: 'prod' }],
    ["labels->>'n' = '5'", undefined], // ->> of the number 5 is '5'; JSONExtractString gives ''
    ["labels @> '{\"env\":\"prod\"}'", '(JSONExtractString(`labels`, {p0:String}) = {p1:String})', { p0: 'env', p1: 'prod' }],
    ["labels @> '{\"n\":5}'", undefined],
    ["host LIKE 'h1%'", '`host` LIKE {p0:String}', { p0: 'h1%' }],
    ["host LIKE 'h_'", '`host` LIKE {p0:String}', { p0: 'h_' }], // one character in both (ClickHouse counts code points)
    ["host ILIKE 'H1%'", undefined], // case folding follows the locale: pushed only when probed (ch-text-match.test.ts)
    ["host < 'h5'", undefined], // text ordering follows the collation
    ["(host = 'a' OR host = 'b') AND NOT (app = 'db')", '((`host` = {p0:String} OR `host` = {p1:String}) AND (NOT `app` = {p2:String}))'],
    ["other.host = 'a'", undefined], // not this table's column
    ['lower(host) = host', undefined],
  ];
  it.each(cases)('%s', (...row) => {
    const [cond, expected, params] = row as [string, string | undefined, Record<string, unknown> | undefined];
    const p = new ChParams('p');
    expect(conditionToClickHouse(scope, where(cond), p)).toBe(expected);
    if (params) expect(p.values).toEqual(params);
  });

  it('never puts a value into the SQL text', () => {
    const p = new ChParams('p');
    const sql = conditionToClickHouse(scope, where("host = 'x''; DROP TABLE t; --'"), p);
    expect(sql).toBe('`host` = {p0:String}');
    expect(p.values.p0).toBe("x'; DROP TABLE t; --");
  });
});

describe('time predicates', () => {
  const cases: Array<[string, number]> = [
    ["time BETWEEN '2026-01-04T12:00:00Z' AND '2026-01-05T12:00:00Z'", 2],
    ["time >= '2026-01-04' AND time < '2026-01-06'", 1], // each conjunct separately
    ['time >= to_timestamp(1767484800)', 1],
    ["time > now() - interval '1 hour'", 1],
    ['time >= $1', 1],
    ["'2026-01-04' <= m.time", 1],
    ["(time < '2026-01-02' OR time >= '2026-01-07')", 2],
    ['time > created', 0],
    ['time >= random()::timestamptz', 0],
    ["time BETWEEN SYMMETRIC '2026-01-05' AND '2026-01-04'", 0],
    ["host = 'a'", 0],
  ];
  it.each(cases)('%s has %i bound(s)', (cond, n) => {
    const c = conjuncts(where(cond))[0];
    const bounds: PgNode[] = [];
    const p = timePredicateOf(scope, c, bounds);
    expect(bounds.length).toBe(n);
    expect(p === undefined).toBe(n === 0);
  });

  it('computes the range and the cold share of BETWEEN (inclusive) and OR', () => {
    const bounds: PgNode[] = [];
    const p = timePredicateOf(scope, where("time BETWEEN '2026-01-04T12:00:00Z' AND '2026-01-05T12:00:00Z'"), bounds)!;
    const values = [us('2026-01-04T12:00:00Z'), us('2026-01-05T12:00:00Z')];
    const r = rangeOf(p, values);
    expect(r).toEqual({ lo: values[0], loInclusive: true, hi: values[1], hiInclusive: true });
    const cold = intersectRanges(r, belowRange(us('2026-01-05T00:00:00Z')));
    expect(cold).toEqual({ lo: values[0], loInclusive: true, hi: us('2026-01-05T00:00:00Z'), hiInclusive: false });
    expect(isEmptyRange(intersectRanges(r, belowRange(values[0])))).toBe(true);

    const b2: PgNode[] = [];
    const or = timePredicateOf(scope, where("(time < '2026-01-02' OR time >= '2026-01-07')"), b2)!;
    const r2 = rangeOf(or, [us('2026-01-02T00:00:00Z'), us('2026-01-07T00:00:00Z')]);
    expect(r2.lo).toBe(NEG_INFINITY);
    expect(r2.hi).toBe(POS_INFINITY);
    const params = new ChParams('b');
    expect(timePredicateToClickHouse(or, [us('2026-01-02T00:00:00Z'), us('2026-01-07T00:00:00Z')], 'time', params)).toBe(
      "(`time` < {b0:DateTime64(6, 'UTC')} OR `time` >= {b1:DateTime64(6, 'UTC')})",
    );
    expect(params.values).toEqual({ b0: '2026-01-02 00:00:00.000000', b1: '2026-01-07 00:00:00.000000' });
  });

  it('treats bounds outside ClickHouse DateTime64 like infinities', () => {
    const params = new ChParams('b');
    expect(timePredicateToClickHouse({ kind: 'cmp', op: '<', bound: 0 }, [POS_INFINITY], 'time', params)).toBe('1');
    expect(timePredicateToClickHouse({ kind: 'cmp', op: '>=', bound: 0 }, [us('1800-01-01T00:00:00Z')], 'time', params)).toBe('1');
    expect(timePredicateToClickHouse({ kind: 'cmp', op: '<', bound: 0 }, [NEG_INFINITY], 'time', params)).toBe('0');
    expect(params.values).toEqual({});
  });
});

describe('time predicates on a timestamp (without time zone) column', () => {
  const local: ColumnScope = {
    relation: { ...relation, table: 'local_events', columns: [{ name: 'time', pgType: 'timestamp without time zone', kind: 'timestamp' }, ...relation.columns.slice(1)] },
    refName: 'm',
    soleFromItem: true,
  };
  const deparseBound = (b: PgNode) => deparseStatement({ SelectStmt: { targetList: [{ ResTarget: { val: b } }], limitOption: 'LIMIT_OPTION_DEFAULT', op: 'SETOP_NONE' } });

  it('evaluates bounds as wall-clock readings, not as instants in the session zone', () => {
    const bounds: PgNode[] = [];
    const p = timePredicateOf(local, where("time >= '2026-03-08 02:30'"), bounds, false);
    expect(p).toEqual({ kind: 'cmp', op: '>=', bound: 0 });
    expect(deparseBound(bounds[0])).toBe("SELECT '2026-03-08 02:30'::timestamp AT TIME ZONE 'UTC'");
    // A timestamptz time column keeps its bound as written.
    const tz: PgNode[] = [];
    timePredicateOf(scope, where("time >= '2026-03-08 02:30'"), tz, false);
    expect(deparseBound(tz[0])).toBe("SELECT '2026-03-08 02:30'");
  });

  const cases: Array<[string, boolean, boolean]> = [
    ["time >= '2026-03-08'", false, false],
    ["time BETWEEN TIMESTAMP '2026-03-08 01:00' AND DATE '2026-03-09'", false, false],
    ["time < TIMESTAMP '2026-03-08' + interval '1 day'", false, false],
    ['time >= LOCALTIMESTAMP', false, false],
    ["time >= now() - interval '1 hour'", false, true],
    ["time >= TIMESTAMPTZ '2026-03-08 07:00+00'", false, true],
    ['time >= $1', false, true], // a parameter may be sent as timestamptz
    ["(time < '2026-03-01' OR time >= now())", false, true],
    ["time >= now() - interval '1 hour'", true, false], // in UTC an instant's reading is exact
  ];
  it.each(cases)('%s (utc=%s): approximate %s', (cond, utc, slack) => {
    const p = timePredicateOf(local, where(cond), [], utc)!;
    expect(hasSlack(p)).toBe(slack);
  });

  it('widens an approximate bound by SLACK_US on its open side, for ClickHouse and for routing', () => {
    const b = us('2026-03-08T07:00:00Z');
    const ge = { kind: 'cmp', op: '>=', bound: 0, slack: true } as const;
    expect(rangeOf(ge, [b])).toEqual({ lo: b - SLACK_US, loInclusive: true, hi: POS_INFINITY, hiInclusive: true });
    expect(rangeOf({ ...ge, op: '<' }, [b])).toEqual({ lo: NEG_INFINITY, loInclusive: true, hi: b + SLACK_US, hiInclusive: true });
    const params = new ChParams('b');
    expect(timePredicateToClickHouse({ ...ge, op: '=' }, [b], 'time', params)).toBe("(`time` >= {b0:DateTime64(6, 'UTC')} AND `time` <= {b1:DateTime64(6, 'UTC')})");
    expect(params.values).toEqual({ b0: '2026-03-06 07:00:00.000000', b1: '2026-03-10 07:00:00.000000' });
    expect(timePredicateToClickHouse({ ...ge, op: '>' }, [POS_INFINITY], 'time', new ChParams('c'))).toBe('0');
    expect(timePredicateToClickHouse({ ...ge, op: '<=' }, [POS_INFINITY], 'time', new ChParams('c'))).toBe('1');
  });

  it('bins a timestamp column by whole seconds when a timestamptz origin puts it in a non-UTC zone', () => {
    const exprs = targets("date_bin('1 hour', time, TIMESTAMPTZ '2000-01-01 00:00+00')");
    expect(timeGranularity(local, exprs, false)).toBe(1_000_000n);
    expect(timeGranularity(local, exprs, true)).toBe(3_600_000_000n);
    expect(timeGranularity(local, targets("date_bin('1 hour', time, '2000-01-01')"), false)).toBe(0n); // origin's zone unknown: exact instants
    expect(timeGranularity(local, targets("date_bin('1 hour', time, TIMESTAMP '2000-01-01 00:00+00')"), false)).toBe(3_600_000_000n);
  });
});

describe('time granularity of expressions evaluated over grouped rows', () => {
  const S = 1_000_000n;
  const cases: Array<[string, boolean, bigint | undefined]> = [
    ['floor(extract(epoch from "time")/300)*300', true, 300n * S],
    ["time_bucket('300.000s', time)", true, 300n * S],
    ["time_bucket('1 hour', time)", true, 3600n * S],
    ["time_bucket('7 days', time)", true, 86400n * S], // weeks start on Monday 2000-01-03, not on the epoch's Thursday
    ["date_trunc('hour', time)", true, 3600n * S],
    ["date_trunc('hour', time)", false, S], // outside UTC: local boundaries, whole seconds
    ["date_trunc('day', time), extract(hour FROM time)", true, 3600n * S],
    ['extract(second FROM time)', true, 0n],
    ["date_bin('15 minutes', time, TIMESTAMPTZ '2026-01-01')", true, 900n * S],
    ["date_bin('15 minutes', time, TIMESTAMPTZ '2026-01-01 00:05:00+00')", true, 300n * S],
    ['time', true, 0n],
    ["time + interval '1 hour'", true, 0n],
    ['host, value', true, undefined],
  ];
  it.each(cases)('%s (utc=%s)', (exprs, utc, g) => {
    expect(timeGranularity(scope, targets(exprs), utc)).toBe(g);
  });

  it('reads fixed-width intervals', () => {
    expect(fixedIntervalUs('300.000s')).toBe(300_000_000n);
    expect(fixedIntervalUs('1.5 minutes')).toBe(90_000_000n);
    expect(fixedIntervalUs('1 month')).toBeUndefined();
    expect(fixedIntervalUs('0 s')).toBeUndefined();
  });
});

describe('instants', () => {
  it('round-trips PostgreSQL epoch text to ClickHouse DateTime64 text', () => {
    expect(chDateTime64(instantFromEpochText('1767484800.000000'))).toBe('2026-01-04 00:00:00.000000');
    expect(chDateTime64(instantFromEpochText('1767484800.123456'))).toBe('2026-01-04 00:00:00.123456');
    expect(chDateTime64(instantFromEpochText('-1.5'))).toBe('1969-12-31 23:59:58.500000');
    expect(instantFromEpochText('Infinity')).toBe(POS_INFINITY);
    expect(isoInstant(instantFromEpochText('-Infinity'))).toBe('-infinity');
  });
});
