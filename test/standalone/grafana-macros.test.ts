import { expandGrafanaMacros, rfc3339Nano } from '../support/grafana-macros';

// Expected strings follow Grafana's own macros_test.go for the PostgreSQL datasource.
const range = { from: new Date('2018-04-12T18:00:00Z'), to: new Date('2018-04-12T18:05:00Z') };

test.each([
  ['WHERE $__timeFilter(time_column)', "WHERE time_column BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z'", false],
  ['GROUP BY $__timeGroup(time_column,\'5m\')', 'GROUP BY floor(extract(epoch from time_column)/300)*300', false],
  ['GROUP BY $__timeGroup(time_column, \'5m\')', "GROUP BY time_bucket('300.000s',time_column)", true],
  ['SELECT $__timeGroupAlias(time_column,\'5m\')', 'SELECT floor(extract(epoch from time_column)/300)*300 AS "time"', false],
  ['SELECT $__timeGroup(time_column,\'5m\'), value', 'SELECT floor(extract(epoch from time_column)/300)*300 AS "time", value', false],
  ['select $__timeEpoch(time)', 'select extract(epoch from time) as "time"', false],
  ['select $__timeFrom(), $__timeTo()', "select '2018-04-12T18:00:00Z', '2018-04-12T18:05:00Z'", false],
  ['select $__unixEpochFilter(time)', 'select time >= 1523556000 AND time <= 1523556300', false],
  ['GROUP BY $__unixEpochGroup(time_column,\'5m\')', 'GROUP BY floor((time_column)/300)*300', false],
])('%s', (sql, expected, timescaledb) => {
  expect(expandGrafanaMacros(sql, range, { timescaledb })).toBe(expected);
});

test('fractional seconds keep Go RFC3339Nano form', () => {
  expect(rfc3339Nano(new Date('2026-01-04T13:37:00.120Z'))).toBe('2026-01-04T13:37:00.12Z');
});

test('an unknown macro is an error, as in Grafana', () => {
  expect(() => expandGrafanaMacros('select $__nope(x)', range)).toThrow(/unknown macro/);
});
