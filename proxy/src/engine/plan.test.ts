import { validateTieredTable } from '@strata/core';
import { catalogSnapshot } from '../router/catalog-snapshot';
import { deparseStatement, loadSqlParser, parseStatements } from '../router/sql-parser';
import { instantFromEpochText } from '../translate/instant';
import { coldQuery, planStatement } from './plan';

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
    ['FILTER columns join the grouping', "SELECT count(*) FILTER (WHERE level = 'error') FROM metrics_events", 'partial', ['level'], undefined],
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
    expect(Object.values(q.params)).toEqual(expect.arrayContaining(['api', 'db', 'env', 'prod', '2026-01-04 12:00:00.000000', '2026-01-05 00:00:00.000000']));
    expect(q.sql).toContain('`_strata_gen` <= 3');
    expect(q.sql).toMatch(/GROUP BY `host` HAVING count\(\) > 0$/);
  });
});
