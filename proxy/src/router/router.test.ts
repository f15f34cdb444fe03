import { validateTieredTable } from '@strata/core/model';
import type { SessionContext } from '../query-types';
import { catalogSnapshot } from './catalog-snapshot';
import { createRouter } from './router';
import { routeSettingOf } from './route-setting';
import { loadSqlParser, parseStatements, SqlParseError } from './sql-parser';

function spec(table: string, mode: 'hot-then-cold' | 'hot-only' | 'cold-only' = 'hot-then-cold', schema?: string) {
  const r = validateTieredTable({
    table,
    ...(schema ? { schema } : {}),
    mode,
    timeColumn: 'time',
    columns: [
      { name: 'time', type: 'timestamptz' },
      { name: 'host', type: 'text' },
      { name: 'value', type: 'double precision' },
    ],
    cold: { orderBy: ['host', 'time'] },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}

const snapshot = catalogSnapshot([spec('metrics_events'), spec('hot_events', 'hot-only'), spec('logs', 'cold-only', 'obs')]);

function session(overrides: Partial<SessionContext> = {}, settings: Record<string, string> = {}): SessionContext {
  return { user: 'u', database: 'd', inTransaction: false, settings: new Map(Object.entries(settings)), ...overrides };
}

beforeAll(() => loadSqlParser());

describe('createRouter', () => {
  const cases: Array<[string, string, 'postgres' | 'engine']> = [
    ['no table', 'SELECT 1', 'postgres'],
    ['Grafana health check', '-- ping', 'postgres'],
    ['catalog query', "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'", 'postgres'],
    ['tiered read', 'SELECT count(*) FROM metrics_events', 'engine'],
    ['upper-case name (folded)', 'SELECT count(*) FROM METRICS_EVENTS', 'engine'],
    ['name hidden in a Unicode escape', 'SELECT count(*) FROM U&"metrics\\005fevents"', 'engine'],
    ['OLTP text naming no tiered table (relayed unparsed)', 'SELECT abalance FROM pgbench_accounts WHERE aid = 41', 'postgres'],
    ['schema-qualified', 'SELECT * FROM public.metrics_events', 'engine'],
    ['other schema', 'SELECT * FROM other.metrics_events', 'postgres'],
    ['hot-only table', 'SELECT * FROM hot_events', 'postgres'],
    ['cold-only table in its schema', 'SELECT * FROM obs.logs', 'engine'],
    ['CTE shadows the table', 'WITH metrics_events AS (SELECT 1 AS x) SELECT * FROM metrics_events', 'postgres'],
    ['CTE reading the table', 'WITH b AS (SELECT host FROM metrics_events) SELECT * FROM b', 'engine'],
    ['join', 'SELECT * FROM hosts h JOIN metrics_events m ON m.host = h.name', 'engine'],
    ['subquery in WHERE', 'SELECT 1 WHERE EXISTS (SELECT 1 FROM metrics_events)', 'engine'],
    ['EXPLAIN of a tiered read', 'EXPLAIN SELECT count(*) FROM metrics_events', 'engine'],
    ['EXPLAIN of anything else', 'EXPLAIN SELECT 1', 'postgres'],
    ['insert', "INSERT INTO metrics_events (time, host) VALUES (now(), 'h')", 'postgres'],
    ['insert from tiered select', 'INSERT INTO copy SELECT * FROM metrics_events', 'engine'],
    ['insert into a tiered table', "INSERT INTO metrics_events (time, host) VALUES (now(), 'h')", 'postgres'],
    ['delete', "DELETE FROM metrics_events WHERE host = 'h'", 'engine'],
    ['truncate', 'TRUNCATE metrics_events', 'engine'],
    ['update', "UPDATE metrics_events SET value = 0 WHERE host = 'h'", 'engine'],
    ['data-modifying CTE', 'WITH d AS (DELETE FROM metrics_events RETURNING *) SELECT * FROM d', 'engine'],
    ['locking read', 'SELECT * FROM metrics_events FOR UPDATE', 'engine'],
    ['SELECT INTO', 'SELECT * INTO snapshot FROM metrics_events', 'engine'],
    ['cursor', 'DECLARE c CURSOR FOR SELECT * FROM metrics_events', 'engine'],
    ['SQL-level PREPARE (refused there)', 'PREPARE p AS SELECT * FROM metrics_events', 'engine'],
    ['SQL-level PREPARE of something else', 'PREPARE p AS SELECT 1', 'postgres'],
    ['COPY out', 'COPY metrics_events TO STDOUT', 'engine'],
    ['COPY in (a write, hot tier)', 'COPY metrics_events FROM STDIN', 'postgres'],
    ['DDL', 'CREATE INDEX ON metrics_events (host)', 'postgres'],
    ['SET', "SET TIME ZONE 'UTC'", 'postgres'],
    ['multi-statement with a tiered read', "SET TIMEZONE TO 'UTC'; SELECT count(*) FROM metrics_events", 'engine'],
    ['syntax error (PostgreSQL reports it)', 'SELEC count(*) FROM metrics_events', 'postgres'],
    ['unexpanded Grafana macro', 'SELECT $__timeGroup(time, 5m) FROM metrics_events', 'postgres'],
  ];
  const router = createRouter(snapshot);

  it.each(cases)('%s', (_name, sql, target) => {
    expect(router(sql, session()).target).toBe(target);
  });

  it('answers reads in a transaction block with the engine (it runs in the client session) unless strata.route pins hot', () => {
    const sql = 'SELECT count(*) FROM metrics_events';
    expect(router(sql, session({ inTransaction: true })).target).toBe('engine');
    expect(router(sql, session({ inTransaction: true }, { 'strata.route': 'hot' })).target).toBe('postgres');
  });

  it('honours strata.route', () => {
    const sql = 'SELECT count(*) FROM metrics_events';
    expect(router(sql, session({}, { 'strata.route': 'hot' })).target).toBe('postgres');
    expect(router(sql, session({}, { 'strata.route': 'auto' })).target).toBe('engine');
    expect(router(sql, session({}, { 'strata.route': 'cold' })).target).toBe('engine');
    expect(router('SELECT 1', session({}, { 'strata.route': 'cold' })).target).toBe('postgres');
  });

  it('answers from its cache the second time (same decision)', () => {
    const sql = 'SELECT max(value) FROM metrics_events';
    expect(router(sql, session())).toEqual(router(sql, session()));
    // The engine gets the statements as the router parsed and classified them.
    const route = router(sql, session());
    expect(route.target === 'engine' && route.plan?.statements.map((s) => s.tiered?.kind)).toEqual(['select']);
  });
});

describe('routeSettingOf', () => {
  const cases: Array<[string, string | undefined]> = [
    ["SET strata.route = 'cold'", 'cold'],
    ['SET strata.route TO hot', 'hot'],
    ["SET SESSION strata.route = 'AUTO'", 'auto'],
    ['RESET strata.route', 'auto'],
    ['SET strata.route TO DEFAULT', 'auto'],
    ["SET TimeZone = 'UTC'", undefined],
  ];
  it.each(cases)('%s', (sql, expected) => {
    expect(routeSettingOf(parseStatements(sql)[0].stmt)).toBe(expected);
  });

  it('rejects values that are not route modes', () => {
    expect(() => routeSettingOf(parseStatements("SET strata.route = 'warm'")[0].stmt)).toThrow(RangeError);
  });
});

describe('parseStatements', () => {
  it('splits a string into statements with their own text', () => {
    expect(parseStatements("SET TIMEZONE TO 'UTC'; SELECT 'é;' AS x").map((s) => s.text)).toEqual(["SET TIMEZONE TO 'UTC'", "SELECT 'é;' AS x"]);
  });

  it('throws SqlParseError with the parser message, and caches it', () => {
    expect(() => parseStatements('SELEC 1')).toThrow(SqlParseError);
    expect(() => parseStatements('SELEC 1')).toThrow(/syntax error/);
  });
});
