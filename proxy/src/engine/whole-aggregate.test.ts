import { validateTieredTable } from '@strata/core';
import { catalogSnapshot } from '../router/catalog-snapshot';
import { deparseStatement, loadSqlParser, parseStatements } from '../router/sql-parser';
import { instantFromEpochText } from '../translate/instant';
import { coldQuery, planStatement } from './plan';
import { distinctShipment, shipWholeOk } from './whole-pushdown';

const spec = validateTieredTable({
  table: 'm',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'labels', type: 'jsonb' },
    { name: 'value', type: 'double precision' },
    { name: 'n', type: 'integer' },
    { name: 'b', type: 'bigint' },
    { name: 'ratio', type: 'real' },
  ],
  cold: { orderBy: ['host', 'time'] },
});
if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
const snapshot = catalogSnapshot([spec.spec]);

beforeAll(() => loadSqlParser());

function plan(sql: string, whole = true, utc = true) {
  return planStatement(parseStatements(sql)[0].stmt, snapshot, { utc, includeHot: true, whole });
}

describe('whole aggregates: planned only where ClickHouse forms exactly the statement\'s groups', () => {
  const cases: Array<[string, string, 'whole' | 'partial' | 'raw']> = [
    ['percentile per host', 'SELECT host, percentile_cont(0.95) WITHIN GROUP (ORDER BY value) FROM m GROUP BY host', 'whole'],
    ['percentile per hour bucket (positional)', "SELECT date_trunc('hour', time), percentile_disc(0.5) WITHIN GROUP (ORDER BY n) FROM m GROUP BY 1", 'whole'],
    ['Grafana $__timeGroupAlias with stddev', 'SELECT floor(extract(epoch from time)/300)*300 AS "time", stddev(value) FROM m GROUP BY 1 ORDER BY 1', 'whole'],
    ['ungrouped', 'SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY value), count(*) FROM m', 'whole'],
    ['count DISTINCT of a non-group column', 'SELECT host, count(DISTINCT n) FROM m GROUP BY host', 'whole'],
    ['a week is not one day cell', "SELECT date_trunc('week', time), stddev(value) FROM m GROUP BY 1", 'raw'],
    ['an expression of a group column groups coarser', 'SELECT lower(host), percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FROM m GROUP BY 1', 'raw'],
    ['grouping by a float column (on its PostgreSQL-equality key)', 'SELECT value, percentile_cont(0.5) WITHIN GROUP (ORDER BY n) FROM m GROUP BY value', 'whole'],
    ['grouping by a real column, by position, with HAVING on it', 'SELECT host, ratio, stddev(value) FROM m GROUP BY host, 2 HAVING ratio > 0 ORDER BY ratio', 'whole'],
    ['an expression of a float column groups coarser', 'SELECT value::text, percentile_cont(0.5) WITHIN GROUP (ORDER BY n) FROM m GROUP BY 1', 'raw'],
    ['a float group column read by a FILTER over the grouped rows (-0 and 0 apart)', "SELECT value, count(*) FILTER (WHERE value::text = '-0'), stddev(ratio) FROM m GROUP BY value", 'raw'],
    ['a float group column read by a set-valued aggregate', 'SELECT value, count(DISTINCT value::text), stddev(ratio) FROM m GROUP BY value', 'raw'],
    ['a float group column read by count(expr)', 'SELECT value, count(value::text), stddev(ratio) FROM m GROUP BY value', 'raw'],
    ['DESC within group', 'SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY value DESC) FROM m', 'raw'],
    ['fraction out of range (PostgreSQL errors)', 'SELECT percentile_cont(1.5) WITHIN GROUP (ORDER BY value) FROM m', 'raw'],
    ['array of fractions', 'SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY value) FROM m', 'raw'],
    ['stddev of an integer: exact partials, the square root taken in PostgreSQL', 'SELECT stddev(n), stddev_pop(n), stddev_samp(n) FROM m', 'partial'],
    ['a condition ClickHouse cannot evaluate', "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FROM m WHERE host ~ 'x[[:alpha:]]+'", 'raw'],
    ['count DISTINCT of jsonb keeps its grouping', 'SELECT host, count(DISTINCT labels) FROM m GROUP BY host', 'partial'],
    ['count DISTINCT of a float', 'SELECT host, count(DISTINCT value) FROM m GROUP BY host', 'whole'],
    ['count DISTINCT of a float with FILTER keeps its grouping', 'SELECT host, count(DISTINCT value) FILTER (WHERE n > 0) FROM m GROUP BY host', 'partial'],
    ['count DISTINCT grouped by a float column', 'SELECT value, count(DISTINCT n) FROM m GROUP BY value', 'whole'],
    ['variance of an integer: exact partials', 'SELECT host, var_samp(n), var_pop(b), avg(b), sum(b) FROM m GROUP BY host', 'partial'],
    ['covar_* and regr_* of two float columns', 'SELECT host, covar_pop(value, ratio), covar_samp(ratio, value), regr_count(value, ratio), regr_avgx(value, ratio), regr_sxy(value, ratio) FROM m GROUP BY host', 'whole'],
    ['regr_* of a float and an integer (float8 as PostgreSQL casts it)', 'SELECT regr_sxx(value, n), covar_samp(b, n) FROM m', 'whole'],
    ['regr_* of a jsonb', "SELECT regr_sxx(value, (labels->>'x')::float8) FROM m", 'raw'],
    ['regr_* of an expression', 'SELECT regr_syy(value, ratio * 2) FROM m', 'raw'],
    ['regr_* with FILTER', 'SELECT regr_avgy(value, ratio) FILTER (WHERE n > 0) FROM m', 'raw'],
    ['corr: PostgreSQL tests its rounding-noise Sxx for 0', 'SELECT corr(value, ratio) FROM m', 'raw'],
    ['regr_slope likewise', 'SELECT host, regr_slope(value, ratio) FROM m GROUP BY host', 'raw'],
  ];
  it.each(cases)('%s', (_name, sql, expected) => {
    const p = plan(sql);
    const occ = p.occurrences[0];
    const got = occ.mode === 'raw' ? 'raw' : occ.shipHot ? 'whole' : 'partial';
    expect(got).toBe(expected);
    if (got === 'whole') expect(occ.partial!.wholes.length).toBeGreaterThan(0);
    expect(() => parseStatements(deparseStatement(p.stmt))).not.toThrow();
  });

  it('a day bucket is one ClickHouse cell in UTC only', () => {
    const sql = "SELECT date_trunc('day', time), percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FROM m GROUP BY 1";
    expect(plan(sql, true, true).occurrences[0].shipHot).toBeDefined();
    expect(plan(sql, true, false).occurrences[0].mode).toBe('raw');
  });

  it('without whole planning, count(DISTINCT) falls back to grouping by its column and percentiles to raw rows', () => {
    expect(plan('SELECT host, count(DISTINCT n) FROM m GROUP BY host', false).occurrences[0].partial!.groupColumns.sort()).toEqual(['host', 'n']);
    expect(plan('SELECT host, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FROM m GROUP BY host', false).occurrences[0].mode).toBe('raw');
  });

  it('reads the hot rows from PostgreSQL no more: the occurrence is the temporary table alone', () => {
    const p = plan('SELECT host, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FROM m GROUP BY host');
    const sql = deparseStatement(p.stmt);
    expect(sql).not.toMatch(/UNION ALL/);
    expect(sql).toMatch(/min\(_strata_whole_0\)/);
  });

  it('groups cold rows UNION ALL the shipped hot rows in ClickHouse, the cold side filtered as every cold read', () => {
    const occ = plan("SELECT host, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FROM m WHERE time >= '2026-01-01' GROUP BY host").occurrences[0];
    const q = coldQuery(occ, [instantFromEpochText('1767225600')], instantFromEpochText('1767571200'), '`_strata_gen` <= 3', 'strata', '`strata_scratch`.`hot_x`');
    expect(q.sql).toMatch(/FROM \(SELECT `host`, `value` FROM `strata`.`m` WHERE .*`_strata_gen` <= 3 UNION ALL SELECT `host` AS `host`, .*reinterpretAsFloat64.* AS `value` FROM `strata_scratch`.`hot_x`\) GROUP BY `host` HAVING count\(\) > 0$/);
  });

  it('weighs rows where the shipment is distinct rows: count(*) sums their multiplicities, cold rows count one', () => {
    const occ = plan('SELECT host, count(DISTINCT n), count(*) FROM m GROUP BY host').occurrences[0];
    const q = coldQuery(occ, [instantFromEpochText('1767225600')], instantFromEpochText('1767571200'), '1', 'strata', '`strata_scratch`.`hot_x`');
    expect(q.sql).toMatch(/^SELECT `host`, sum\(`_strata_row`\), uniqExact\(`n`\) FROM \(SELECT toUInt64\(1\) AS `_strata_row`, `host`, `n` FROM .* UNION ALL SELECT `_strata_row`, `host` AS `host`, `n` AS `n` FROM `strata_scratch`.`hot_x`\) GROUP BY `host` HAVING count\(\) > 0$/);
    const coldOnly = coldQuery(occ, [instantFromEpochText('1767225600')], instantFromEpochText('1767571200'), '1', 'strata', undefined);
    expect(coldOnly.sql).toMatch(/^SELECT `host`, count\(\), uniqExact\(`n`\) FROM \(SELECT `host`, `n` FROM `strata`.`m` WHERE .*\) GROUP BY `host` HAVING count\(\) > 0$/);
  });

  it('ships distinct hot rows only where every whole aggregate is a count(DISTINCT) and no partial or time cell reads single rows', () => {
    const shipsDistinct = (sql: string) => distinctShipment(plan(sql).occurrences[0]);
    expect(shipsDistinct('SELECT host, count(*), count(DISTINCT n), count(DISTINCT value) FROM m GROUP BY host')).toBe(true);
    expect(shipsDistinct('SELECT count(DISTINCT n) FROM m')).toBe(true);
    expect(shipsDistinct('SELECT host, count(DISTINCT n), sum(n) FROM m GROUP BY host')).toBe(false);
    expect(shipsDistinct('SELECT host, count(DISTINCT n), percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FROM m GROUP BY host')).toBe(false);
    expect(shipsDistinct("SELECT date_trunc('hour', time), count(DISTINCT n) FROM m GROUP BY 1")).toBe(false);
  });

  it('counts distinct floats on their PostgreSQL-equality key, other kinds on the column', () => {
    const occ = plan('SELECT host, count(DISTINCT value), count(DISTINCT n) FROM m GROUP BY host').occurrences[0];
    const q = coldQuery(occ, [instantFromEpochText('1767225600')], instantFromEpochText('1767571200'), '1', 'strata', '`strata_scratch`.`hot_x`');
    expect(q.sql).toContain('uniqExact(if(isNaN(`value`), nan, `value` + 0.))');
    expect(q.sql).toContain('uniqExact(`n`)');
  });

  it('groups a float column on its PostgreSQL-equality key and shows one of the group\'s values', () => {
    const occ = plan('SELECT value, ratio, percentile_cont(0.5) WITHIN GROUP (ORDER BY n) FROM m GROUP BY value, ratio').occurrences[0];
    const q = coldQuery(occ, [instantFromEpochText('1767225600')], instantFromEpochText('1767571200'), '1', 'strata', '`strata_scratch`.`hot_x`');
    expect(q.sql).toMatch(/^SELECT any\(`value`\), any\(`ratio`\), .* GROUP BY if\(isNaN\(`value`\), nan, `value` \+ 0\.\), if\(isNaN\(`ratio`\), nan, `ratio` \+ 0\.\) HAVING count\(\) > 0$/);
    // Partials alone keep grouping by the column's bits: PostgreSQL regroups their rows.
    const partial = plan('SELECT value, sum(n) FROM m GROUP BY value').occurrences[0];
    expect(coldQuery(partial, [instantFromEpochText('1767225600')], instantFromEpochText('1767571200'), '1', 'strata').sql).toMatch(/GROUP BY `value` HAVING/);
  });

  it('reads both arguments of covar_* and regr_*, Y first, and computes each pair once', () => {
    const occ = plan('SELECT host, regr_sxy(value, ratio), regr_sxy(ratio, value), regr_sxy(value, ratio) + 1, regr_count(value, ratio) FROM m GROUP BY host').occurrences[0];
    expect(occ.partial!.wholes.map((w) => [w.fn, w.column, w.x])).toEqual([['regr_sxy', 'value', 'ratio'], ['regr_sxy', 'ratio', 'value'], ['regr_count', 'value', 'ratio']]);
    const q = coldQuery(occ, [instantFromEpochText('1767225600')], instantFromEpochText('1767571200'), '1', 'strata', '`strata_scratch`.`hot_x`');
    expect(q.sql).toMatch(/FROM \(SELECT `host`, `value`, `ratio` FROM .* UNION ALL SELECT `host` AS `host`, .* AS `value`, .*reinterpretAsFloat32.* AS `ratio` FROM/);
    expect(q.sql).toContain('covarPopStable(if(isNull(`ratio`), NULL, toFloat64(`value`)), if(isNull(`value`), NULL, toFloat64(`ratio`)))');
    // No pair in the group: regr_count 0, as PostgreSQL's count.
    expect(deparseStatement(plan('SELECT regr_count(value, ratio) FROM m').stmt)).toContain('CAST(COALESCE(min(_strata_whole_0), 0) AS int8)');
  });

  it('ships the hot rows only when they are the smaller side', () => {
    const h = 3_600_000_000n;
    expect(shipWholeOk({ lo: 0n, hi: 100n * h }, 90n * h, 100n * h)).toBe(true);
    expect(shipWholeOk({ lo: 80n * h, hi: 100n * h }, 90n * h, 100n * h)).toBe(true);
    expect(shipWholeOk({ lo: 89n * h, hi: 100n * h }, 90n * h, 100n * h)).toBe(false);
    expect(shipWholeOk({ lo: 0n, hi: 50n * h }, 90n * h, 100n * h)).toBe(true);
  });
});
