import { validateTieredTable } from '@strata/core';
import { catalogSnapshot } from '../router/catalog-snapshot';
import { deparseStatement, loadSqlParser, parseStatements } from '../router/sql-parser';
import { instantFromEpochText } from '../translate/instant';
import { coldQuery, planStatement } from './plan';
import { planClassOf } from './plan-class';
import { resolveTopKParams, topKQualifySql } from './top-k';

const spec = validateTieredTable({
  table: 'metrics_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'app', type: 'text' },
    { name: 'host', type: 'text' },
    { name: 'labels', type: 'jsonb' },
    { name: 'value', type: 'double precision' },
    { name: 'n', type: 'integer' },
    { name: 'level', type: 'text' },
  ],
  cold: { orderBy: ['app', 'host', 'time'] },
});
if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
const snapshot = catalogSnapshot([spec.spec]);
const S = 1_000_000n;

beforeAll(() => loadSqlParser());

function plan(sql: string, utc = true) {
  return planStatement(parseStatements(sql)[0].stmt, snapshot, { utc, includeHot: true });
}

describe('planStatement: partial aggregates where exact, raw rows otherwise', () => {
  const cases: Array<[string, string, 'raw' | 'partial', string[]?, bigint?]> = [
    ['ungrouped count', 'SELECT count(*) FROM metrics_events', 'partial', [], undefined],
    ['Grafana $__timeGroup avg', 'SELECT floor(extract(epoch from time)/300)*300 AS "time", avg(value) FROM metrics_events GROUP BY 1 ORDER BY 1', 'partial', [], 300n * S],
    ['count DISTINCT groups by its column', 'SELECT app, count(DISTINCT host) FROM metrics_events GROUP BY app', 'partial', ['app', 'host'], undefined],
    ['a FILTER ClickHouse evaluates exactly goes into the partials (-If), out of the grouping', "SELECT count(*) FILTER (WHERE level = 'error') FROM metrics_events", 'partial', [], undefined],
    ['other FILTER columns join the grouping', 'SELECT count(*) FILTER (WHERE length(level) > 3) FROM metrics_events', 'partial', ['level'], undefined],
    ['min/max of text keep their column', 'SELECT min(host) FROM metrics_events', 'partial', ['host'], undefined],
    ['HAVING and ORDER BY aggregates', 'SELECT host, count(*) FROM metrics_events GROUP BY host HAVING count(*) > 1 ORDER BY count(*) DESC', 'partial', ['host'], undefined],
    ['time used raw', 'SELECT time, max(value) FROM metrics_events GROUP BY time', 'partial', [], 0n],
    ['percentile', 'SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FROM metrics_events', 'raw'],
    ['stddev', 'SELECT stddev(value) FROM metrics_events', 'raw'],
    ['sum of an integer (exact Int128 partials, PostgreSQL\'s bigint)', 'SELECT sum(n) FROM metrics_events', 'partial', [], undefined],
    ['SELECT DISTINCT groups by its columns', 'SELECT DISTINCT host, app FROM metrics_events', 'partial', ['app', 'host'], undefined],
    ['string_agg with repeats', "SELECT string_agg(host, ',') FROM metrics_events", 'raw'],
    ['window', 'SELECT host, row_number() OVER (ORDER BY time) FROM metrics_events', 'raw'],
    ['DISTINCT ON', 'SELECT DISTINCT ON (host) host, time FROM metrics_events ORDER BY host, time DESC', 'raw'],
    ['subquery in WHERE', 'SELECT count(*) FROM metrics_events m WHERE EXISTS (SELECT 1 WHERE m.host = $1)', 'raw'],
    ['unknown function (could be a user aggregate)', 'SELECT my_agg(value) FROM metrics_events GROUP BY host', 'raw'],
    ['plain rows', "SELECT time, value FROM metrics_events WHERE host = 'h1' ORDER BY time LIMIT 5", 'raw'],
  ];
  it.each(cases)('%s', (...row) => {
    const [, sql, mode, group, g] = row as [string, string, 'raw' | 'partial', string[] | undefined, bigint | undefined];
    const p = plan(sql);
    expect(p.occurrences).toHaveLength(1);
    const occ = p.occurrences[0];
    expect(occ.mode).toBe(mode);
    if (mode === 'partial') {
      expect([...occ.partial!.groupColumns].sort()).toEqual(group);
      expect(occ.partial!.timeGranularity).toBe(g);
    }
    // The rewritten statement is valid SQL the parser reads back.
    expect(() => parseStatements(deparseStatement(p.stmt))).not.toThrow();
  });

  it('fetches only the columns a raw statement reads, all of them for *', () => {
    expect(plan('SELECT host FROM metrics_events').occurrences[0].rawColumns).toEqual(new Set(['host']));
    expect(plan('SELECT * FROM metrics_events').occurrences[0].rawColumns).toBe('all');
    expect(plan('SELECT row_to_json(m) FROM metrics_events m').occurrences[0].rawColumns).toBe('all');
  });

  it('plans each read of the table on its own (self-join via EXISTS)', () => {
    const p = plan(
      `SELECT DISTINCT host FROM metrics_events m WHERE time >= '2026-01-04' AND EXISTS (SELECT 1 FROM metrics_events e WHERE e.host = m.host AND e.level = 'error' AND e.time >= '2026-01-04')`,
    );
    expect(p.occurrences.map((o) => [o.refName, o.timePredicates.length, o.pushed.length])).toEqual([
      ['m', 1, 0],
      ['e', 1, 1],
    ]);
    expect(p.bounds).toHaveLength(2);
  });

  it('leaves a timestamp column\'s approximate bound for PostgreSQL to apply on exact instants', () => {
    const local = validateTieredTable({ table: 'local_events', timeColumn: 'time', columns: [{ name: 'time', type: 'timestamp' }, { name: 'v', type: 'double precision' }], cold: { orderBy: ['time'] } });
    if (!local.ok) throw new Error(JSON.stringify(local.errors));
    const sql = "SELECT date_trunc('hour', time), sum(v) FROM local_events WHERE time >= now() - interval '1 day' GROUP BY 1";
    const planIn = (utc: boolean) => planStatement(parseStatements(sql)[0].stmt, catalogSnapshot([local.spec]), { utc, includeHot: true });
    const ny = planIn(false);
    expect(ny.occurrences[0].mode).toBe('partial');
    expect(ny.occurrences[0].partial!.timeGranularity).toBe(0n);
    expect(deparseStatement(ny.stmt)).toMatch(/\) AS local_events\s+WHERE\s+"time" >= \(now\(\) - '1 day'::interval\)/);
    const utc = planIn(true);
    expect(utc.occurrences[0].partial!.timeGranularity).toBe(3600n * S);
    expect(deparseStatement(utc.stmt)).not.toMatch(/\) AS local_events\s+WHERE/);
  });

  it('sends ClickHouse no literal values: every bound and constant is a parameter', () => {
    const p = plan(
      `SELECT host, count(*) FROM metrics_events WHERE time BETWEEN '2026-01-04T12:00:00Z' AND '2026-01-05T12:00:00Z' AND app IN ('api', 'db') AND labels->>'env' = 'prod' GROUP BY host`,
    );
    const occ = p.occurrences[0];
    const values = [instantFromEpochText('1767528000'), instantFromEpochText('1767614400')];
    const q = coldQuery(occ, values, instantFromEpochText('1767571200'), '`_strata_gen` <= 3', 'strata');
    expect(q.sql).not.toMatch(/api|prod|env|2026/);
    // The upper bound lies above W: every visible cold row meets it, so it is not sent (cold-time-conditions.ts).
    expect(Object.values(q.params)).toEqual(expect.arrayContaining(['api', 'db', 'env', 'prod', '2026-01-04 12:00:00.000000']));
    expect(Object.values(q.params)).not.toEqual(expect.arrayContaining(['2026-01-05 00:00:00.000000']));
    expect(q.sql).toContain('`_strata_gen` <= 3');
    expect(q.sql).toMatch(/GROUP BY `host` HAVING count\(\) > 0$/);
  });

  it("keeps a float sum's -0 only where sum() shows it: an average reads the plain sum", () => {
    const cold = (sql: string) => coldQuery(plan(sql).occurrences[0], [], instantFromEpochText('1767571200'), '1', 'strata').sql;
    const signed = /groupBitAnd/;
    expect(cold('SELECT host, avg(value) FROM metrics_events GROUP BY host')).not.toMatch(signed);
    expect(cold("SELECT avg(value) FILTER (WHERE app = 'db') FROM metrics_events")).not.toMatch(signed);
    expect(cold('SELECT host, sum(value) FROM metrics_events GROUP BY host')).toMatch(signed);
    expect(cold("SELECT sum(value) FILTER (WHERE app = 'db') FROM metrics_events")).toMatch(signed);
    // One partial serves both: sum() needs the sign.
    expect(cold('SELECT avg(value), sum(value) FROM metrics_events')).toMatch(signed);
  });
});

function occurrence(sql: string) {
  const p = plan(sql);
  expect(p.occurrences).toHaveLength(1);
  return { occ: p.occurrences[0], stmt: p.stmt };
}

const ranked = (fn: string, filter: string, extra = '') =>
  `SELECT host, time FROM (SELECT host, time, value, ${fn}() OVER (PARTITION BY host ORDER BY time DESC${extra}) AS rn FROM metrics_events WHERE app = 'db') t WHERE ${filter}`;

describe('top-k per partition: which statements read only candidates', () => {
  const cases: Array<[string, string, string | undefined]> = [
    ['DISTINCT ON, latest per host', 'SELECT DISTINCT ON (host) host, time, value FROM metrics_events ORDER BY host, time DESC', 'QUALIFY rank() OVER (PARTITION BY `host` ORDER BY `time` DESC NULLS FIRST) <= 1'],
    ['DISTINCT ON, text tie-breaker after the time key', 'SELECT DISTINCT ON (host) * FROM metrics_events ORDER BY host, n NULLS FIRST, app', 'QUALIFY rank() OVER (PARTITION BY `host` ORDER BY `n` ASC NULLS FIRST) <= 1'],
    ['row_number = 1', ranked('row_number', 'rn = 1'), 'QUALIFY rank() OVER (PARTITION BY `host` ORDER BY `time` DESC NULLS FIRST) <= 1'],
    ['rank <= 5, qualified', ranked('rank', 't.rn <= 5'), 'QUALIFY rank() OVER (PARTITION BY `host` ORDER BY `time` DESC NULLS FIRST) <= 5'],
    ['dense_rank < 3, sides swapped', ranked('dense_rank', '3 > rn'), 'QUALIFY dense_rank() OVER (PARTITION BY `host` ORDER BY `time` DESC NULLS FIRST) <= 2'],
    ['filter among other AND terms', ranked('row_number', "host <> 'x' AND rn <= 2 AND time > now()"), 'QUALIFY rank() OVER (PARTITION BY `host` ORDER BY `time` DESC NULLS FIRST) <= 2'],
    ['a CTE read once', `WITH r AS (SELECT host, time, rank() OVER (PARTITION BY host ORDER BY time) AS rn FROM metrics_events) SELECT * FROM r x WHERE x.rn <= 2`, 'QUALIFY rank() OVER (PARTITION BY `host` ORDER BY `time` ASC NULLS LAST) <= 2'],
    ['a CTE read twice', `WITH r AS (SELECT host, rank() OVER (PARTITION BY host ORDER BY time) AS rn FROM metrics_events) SELECT * FROM r WHERE rn = 1 UNION ALL SELECT * FROM r`, undefined],
    ['a CTE with column names', `WITH r(h, k) AS (SELECT host, rank() OVER (PARTITION BY host ORDER BY time) FROM metrics_events) SELECT * FROM r WHERE k = 1`, undefined],
    ['DISTINCT ON by a float order key, NaN placed as PostgreSQL does', 'SELECT DISTINCT ON (host) host FROM metrics_events ORDER BY host, value DESC NULLS LAST', 'QUALIFY rank() OVER (PARTITION BY `host` ORDER BY isNull(`value`) ASC, isNaN(`value`) DESC, `value` DESC) <= 1'],
    ['DISTINCT ON by a float order key, PostgreSQL\'s default NULL placement', 'SELECT DISTINCT ON (host) host FROM metrics_events ORDER BY host, value DESC', 'QUALIFY rank() OVER (PARTITION BY `host` ORDER BY `value` DESC NULLS FIRST) <= 1'],
    ['DISTINCT ON by a text order key', 'SELECT DISTINCT ON (host) host FROM metrics_events ORDER BY host, app', undefined],
    ['DISTINCT ON with LIMIT', 'SELECT DISTINCT ON (host) host, time FROM metrics_events ORDER BY host, time LIMIT 5', 'QUALIFY rank() OVER (PARTITION BY `host` ORDER BY `time` ASC NULLS LAST) <= 1'],
    ['DISTINCT ON without ORDER BY', 'SELECT DISTINCT ON (host) host FROM metrics_events', undefined],
    [
      'partition by a float: -0 and 0 one partition, every NaN one',
      'SELECT * FROM (SELECT value, row_number() OVER (PARTITION BY host, value ORDER BY time) AS rn FROM metrics_events) s WHERE rn = 1',
      'QUALIFY rank() OVER (PARTITION BY `host`, if(isNaN(`value`), nan, `value` + 0.) ORDER BY `time` ASC NULLS LAST) <= 1',
    ],
    ['DISTINCT ON a float', 'SELECT DISTINCT ON (value) value, time FROM metrics_events ORDER BY value, time DESC', 'QUALIFY rank() OVER (PARTITION BY if(isNaN(`value`), nan, `value` + 0.) ORDER BY `time` DESC NULLS FIRST) <= 1'],
    ['partition by a float expression', 'SELECT * FROM (SELECT value, row_number() OVER (PARTITION BY value + 1 ORDER BY time) AS rn FROM metrics_events) s WHERE rn = 1', undefined],
    ['filter under OR', ranked('row_number', "rn = 1 OR host = 'h1'"), undefined],
    ['filter rn > 1', ranked('row_number', 'rn > 1'), undefined],
    ['a running sum beside the rank', 'SELECT * FROM (SELECT host, row_number() OVER (PARTITION BY host ORDER BY time) AS rn, sum(value) OVER (PARTITION BY host ORDER BY time) AS s FROM metrics_events) q WHERE rn = 1', undefined],
    ['an unpushed condition', "SELECT * FROM (SELECT host, row_number() OVER (PARTITION BY host ORDER BY time) AS rn FROM metrics_events WHERE host || '' = 'a') q WHERE rn = 1", undefined],
    ['LIMIT inside the ranked SELECT', 'SELECT * FROM (SELECT host, row_number() OVER (PARTITION BY host ORDER BY time) AS rn FROM metrics_events LIMIT 10) q WHERE rn = 1', undefined],
    ['a join beside the subquery', 'SELECT * FROM (SELECT host, row_number() OVER (PARTITION BY host ORDER BY time) AS rn FROM metrics_events) q, (SELECT 1) o WHERE rn = 1', undefined],
  ];
  it.each(cases)('%s', (_name, sql, qualify) => {
    const { occ, stmt } = occurrence(sql);
    expect(occ.mode).toBe('raw');
    expect(occ.topK && topKQualifySql(occ.topK).trim()).toBe(qualify);
    expect(planClassOf(occ)).toBe(qualify ? 'top-k' : 'raw');
    expect(() => parseStatements(deparseStatement(stmt))).not.toThrow();
  });

  it('takes k from an integer parameter per execution, and reads raw rows when PostgreSQL typed it otherwise', () => {
    const sql = ranked('row_number', 'rn < $1');
    const withValue = (value: string | null, type: number) => {
      const { occ } = occurrence(sql);
      resolveTopKParams([occ], [value], [type]);
      return occ.topK?.maxRank;
    };
    expect(withValue('4', 20)).toBe(3n);
    expect(withValue(' 1 ', 23)).toBe(0n);
    expect(withValue(null, 20)).toBe(0n);
    expect(withValue('2.5', 1700)).toBeUndefined();
  });

  it('a top-N whose windows read past the cut within partitions reads each partition\'s first n + m + reach rows', () => {
    const latest = occurrence('SELECT time, host, value - lag(value) OVER (PARTITION BY host ORDER BY time) FROM metrics_events ORDER BY time DESC LIMIT 100 OFFSET 5').occ;
    expect(latest.topN).toBeUndefined();
    expect(planClassOf(latest)).toBe('top-k');
    expect(topKQualifySql(latest.topK!).trim()).toBe('QUALIFY rank() OVER (PARTITION BY `host` ORDER BY `time` DESC NULLS FIRST) <= 106');
    // Windows over (app) and (host, app) and one over every row: ranked within their union, the largest reach.
    const union = occurrence(
      'SELECT lead(n, 3) OVER (PARTITION BY app ORDER BY time), lead(n) OVER (PARTITION BY host, app ORDER BY time), lead(n, 2) OVER (ORDER BY time) FROM metrics_events ORDER BY time LIMIT 10',
    ).occ;
    expect(topKQualifySql(union.topK!).trim()).toBe('QUALIFY rank() OVER (PARTITION BY `app`, `host` ORDER BY `time` ASC NULLS LAST) <= 13');
    // LIMIT and OFFSET as parameters: resolved per execution; a NULL LIMIT reads raw rows.
    const params = () => occurrence('SELECT n - lag(n) OVER (PARTITION BY host ORDER BY time) FROM metrics_events ORDER BY time DESC LIMIT $1 OFFSET $2').occ;
    const resolved = params();
    resolveTopKParams([resolved], ['10', '4'], [20, 20]);
    expect(resolved.topK!.maxRank).toBe(15n);
    const noLimit = params();
    resolveTopKParams([noLimit], [null, '4'], [20, 20]);
    expect(noLimit.topK).toBeUndefined();
    // Reading no row past the current one: any PARTITION BY, the plain cut.
    const reach0 = occurrence('SELECT row_number() OVER (PARTITION BY lower(host) ORDER BY time DESC), lag(n) OVER (PARTITION BY n % 2 ORDER BY time DESC) FROM metrics_events ORDER BY time DESC LIMIT 10').occ;
    expect(planClassOf(reach0)).toBe('top-n');
    // Past the cut within partitions of an expression, or of a jsonb column: raw rows.
    for (const by of ['lower(host)', 'labels']) {
      expect(planClassOf(occurrence(`SELECT lag(n) OVER (PARTITION BY ${by} ORDER BY time) FROM metrics_events ORDER BY time DESC LIMIT 10`).occ)).toBe('raw');
    }
  });

  it('row_number, rank, running counts and integer sums ordered against a top-N are kept, to be offset by the cold rows left out; dense_rank and float sums are not', () => {
    const { occ, stmt } = occurrence('SELECT time, rank() OVER (ORDER BY time), row_number() OVER w * 2 FROM metrics_events WINDOW w AS (ORDER BY time) ORDER BY time DESC LIMIT 10');
    expect(planClassOf(occ)).toBe('top-n');
    expect(occ.topN!.offsets).toHaveLength(2);
    // The bare call's column keeps PostgreSQL's name once it becomes `coalesce(rank() OVER … + n, …)`.
    expect(deparseStatement(stmt)).toMatch(/rank\(\) OVER \(ORDER BY "?time"?\) AS rank/);
    const kept = occurrence(
      `SELECT time, row_number() OVER (PARTITION BY host, app ORDER BY time), count(*) OVER (ORDER BY time ROWS BETWEEN UNBOUNDED PRECEDING AND 2 FOLLOWING),
         count(value) OVER (PARTITION BY value ORDER BY time), sum(n) OVER (PARTITION BY host ORDER BY time RANGE UNBOUNDED PRECEDING), sum(n) OVER (PARTITION BY host ORDER BY time)
       FROM metrics_events WHERE host = 'h1' OR app = 'a' ORDER BY time DESC LIMIT 10`,
    ).occ;
    expect(planClassOf(kept)).toBe('top-n');
    // avg(x) of an integer: PostgreSQL's sum over count, each offset; its column keeps its name.
    const averaged = occurrence('SELECT time, avg(n) OVER (PARTITION BY host ORDER BY time) FROM metrics_events ORDER BY time DESC LIMIT 10');
    expect(averaged.occ.topN!.offsets!.map((c) => [c.fn, c.measure.kind])).toEqual([['avg', 'sum'], ['avg', 'count'], ['avg', 'count']]);
    expect(deparseStatement(averaged.stmt).replace(/\s+/g, ' ')).toMatch(/CASE WHEN count\(n\) OVER \( PARTITION BY host ORDER BY "time" \) = 0 THEN NULL ELSE \(sum\(n\) OVER .*\)\)::numeric \/ \(count\(n\) OVER .*\)\)::numeric END AS avg/);
    expect(kept.topN!.offsets!.map((c) => [c.fn, c.measure, c.partition.map((k) => k.column)])).toEqual([
      ['row_number', { kind: 'rows' }, ['host', 'app']],
      ['count', { kind: 'rows' }, []],
      ['count', { kind: 'count', column: 'value' }, ['value']],
      ['sum', { kind: 'sum', column: 'n', pgType: 'int8' }, ['host']],
      ['sum', { kind: 'sum', column: 'n', pgType: 'int8' }, ['host']],
    ]);
    // percent_rank and cume_dist: PostgreSQL's formulas, their partition's rows offset either way, their rank or rows so far against the statement.
    const shares = occurrence('SELECT time, percent_rank() OVER (PARTITION BY host ORDER BY time), cume_dist() OVER (ORDER BY time DESC) FROM metrics_events ORDER BY time DESC LIMIT 10');
    expect(planClassOf(shares.occ)).toBe('top-n');
    expect(shares.occ.topN!.offsets!.map((c) => [c.fn, c.partition.length])).toEqual([
      ['percent_rank', 1],
      ['percent_rank', 1],
      ['percent_rank', 1],
      ['cume_dist', 0],
    ]);
    expect(deparseStatement(shares.stmt).replace(/\s+/g, ' ')).toMatch(
      /CASE WHEN count\(\*\) OVER \(PARTITION BY host\) <= 1 THEN 0::float8 ELSE CAST\(rank\(\) OVER \( PARTITION BY host ORDER BY "time" \) - 1 AS float8\) \/ CAST\(count\(\*\) OVER \(PARTITION BY host\) - 1 AS float8\) END AS percent_rank, \(count\(\*\) OVER \( ?ORDER BY "time" DESC ?\)\)::float8 \/ \(count\(\*\) OVER \(\)\)::float8 AS cume_dist/,
    );
    // A partition the WHERE fixes is one partition: one count.
    const fixed = occurrence(`SELECT time, rank() OVER (PARTITION BY host ORDER BY time) FROM metrics_events WHERE host = 'h1' ORDER BY time DESC LIMIT 10`).occ;
    expect(fixed.topN!.offsets![0].partition).toEqual([]);
    for (const sql of [
      'SELECT dense_rank() OVER (ORDER BY time) FROM metrics_events ORDER BY time DESC LIMIT 10',
      // Float sums depend on the order of addition; a FILTER, a frame ending before the current row, a partition of an expression.
      'SELECT sum(value) OVER (ORDER BY time) FROM metrics_events ORDER BY time DESC LIMIT 10',
      'SELECT avg(value) OVER (ORDER BY time) FROM metrics_events ORDER BY time DESC LIMIT 10',
      "SELECT count(*) FILTER (WHERE level = 'error') OVER (ORDER BY time) FROM metrics_events ORDER BY time DESC LIMIT 10",
      'SELECT sum(n) OVER (ORDER BY time ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) FROM metrics_events ORDER BY time DESC LIMIT 10',
      'SELECT rank() OVER (PARTITION BY lower(host) ORDER BY time) FROM metrics_events ORDER BY time DESC LIMIT 10',
      'SELECT count(labels) OVER (PARTITION BY labels ORDER BY time) FROM metrics_events ORDER BY time DESC LIMIT 10',
      // Beside a window reading past the cut within partitions: the count would be per partition.
      'SELECT rank() OVER (ORDER BY time), lag(n) OVER (PARTITION BY host ORDER BY time) FROM metrics_events ORDER BY time DESC LIMIT 10',
      // A window defined from another: not offset, so not cut.
      'SELECT rank() OVER (w ROWS UNBOUNDED PRECEDING) FROM metrics_events WINDOW w AS (ORDER BY time) ORDER BY time DESC LIMIT 10',
    ]) {
      expect({ sql, planClass: planClassOf(occurrence(sql).occ) }).toEqual({ sql, planClass: 'raw' });
    }
  });

  it('window functions over a grouped SELECT are partials, PostgreSQL evaluating the windows', () => {
    const { occ, stmt } = occurrence(
      `SELECT date_trunc('hour', time) AS h, sum(value), sum(sum(value)) OVER w, lag(avg(value)) OVER (ORDER BY date_trunc('hour', time)) FROM metrics_events GROUP BY 1 WINDOW w AS (ORDER BY date_trunc('hour', time))`,
    );
    expect(occ.mode).toBe('partial');
    expect(occ.partial!.timeGranularity).toBe(3_600_000_000n);
    expect(deparseStatement(stmt)).toMatch(/sum\(sum\(_strata_sum_\d\)\) OVER w/);
    // A window over raw rows is not grouped: raw.
    expect(occurrence('SELECT time, sum(value) OVER (ORDER BY time) FROM metrics_events').occ.mode).toBe('raw');
  });
});
