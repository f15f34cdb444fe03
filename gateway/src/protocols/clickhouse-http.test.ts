import { ClickHouseRequestError, clickhouseAuthorization, isHealthCheck, parseInsert } from './clickhouse-http';

const none = new Map<string, string>();

describe('parseInsert', () => {
  test.each([
    ['INSERT INTO metrics_events FORMAT JSONEachRow', { table: 'metrics_events', format: 'jsonEachRow' }],
    ['insert into default.logs format JSONEachRow', { database: 'default', table: 'logs', format: 'jsonEachRow' }],
    ['INSERT INTO "default"."logs_events" FORMAT JSONEachRow', { database: 'default', table: 'logs_events' }], // Vector < 0.50
    ['INSERT INTO `my db`.`t``x` FORMAT JSONLines', { database: 'my db', table: 't`x', format: 'jsonEachRow' }],
    ['INSERT INTO TABLE t (a, `b`) FORMAT JSONCompactEachRow', { table: 't', columns: ['a', 'b'], format: 'compact' }],
    ['INSERT INTO t SETTINGS input_format_skip_unknown_fields = 1, date_time_input_format = \'best_effort\' FORMAT JSONEachRow', { table: 't' }],
    ['  -- a comment\nINSERT /* c */ INTO t FORMAT JSONCompactEachRowWithNamesAndTypes', { table: 't', format: 'compactWithNamesAndTypes' }],
  ])('%s', (sql, expected) => {
    expect(parseInsert(sql, none)).toMatchObject(expected);
  });

  test("Vector's {database:Identifier}.{table:Identifier} with param_database and param_table", () => {
    const params = new Map([
      ['database', 'default'],
      ['table', 'logs_events'],
    ]);
    expect(parseInsert('INSERT INTO {database:Identifier}.{table:Identifier} FORMAT JSONEachRow', params)).toMatchObject({ database: 'default', table: 'logs_events', format: 'jsonEachRow' });
    expect(() => parseInsert('INSERT INTO {table:Identifier} FORMAT JSONEachRow', none)).toThrow(/Substitution `table` is not set/);
  });

  test('SETTINGS in the statement are read', () => {
    const s = parseInsert("INSERT INTO t SETTINGS input_format_skip_unknown_fields = 1, date_time_input_format = 'best_effort' FORMAT JSONEachRow", none);
    expect([...s.settings]).toEqual([
      ['input_format_skip_unknown_fields', '1'],
      ['date_time_input_format', 'best_effort'],
    ]);
  });

  test('the rows after a statement at the head of the body start after its line break (byte offset)', () => {
    const text = 'INSERT INTO `tä` FORMAT JSONEachRow\n{"a":1}\n';
    const s = parseInsert(text, none);
    expect(Buffer.from(text).subarray(s.dataOffset).toString()).toBe('{"a":1}\n');
  });

  test.each([
    ['SELECT count() FROM logs', 48, /takes INSERT … FORMAT only, not SELECT/],
    ['INSERT INTO t VALUES (1)', 73, /VALUES is not taken/],
    ['INSERT INTO t FORMAT RowBinary', 73, /format RowBinary is not taken/],
    ['INSERT INTO t (* EXCEPT (a)) FORMAT JSONEachRow', 48, /must name columns/],
    ['INSERT INTO t', 62, /expected FORMAT/],
    ['INSERT t FORMAT JSONEachRow', 62, /expected INTO/],
  ])('refuses %s with ClickHouse code %d', (sql, code, message) => {
    let err: unknown;
    try {
      parseInsert(sql, none);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ClickHouseRequestError);
    expect((err as ClickHouseRequestError).clickhouse[0]).toBe(code);
    expect((err as Error).message).toMatch(message);
  });
});

test('health checks', () => {
  expect(isHealthCheck('SELECT 1')).toBe(true);
  expect(isHealthCheck(' select 1 FORMAT TabSeparated;\n')).toBe(true);
  expect(isHealthCheck('SELECT 12')).toBe(false);
});

test('ClickHouse credentials become the token to check', () => {
  expect(clickhouseAuthorization({ 'x-clickhouse-user': 'default', 'x-clickhouse-key': 'tok' }, {})).toBe('Bearer tok');
  expect(clickhouseAuthorization({}, { user: 'default', password: 'tok' })).toBe('Bearer tok');
  expect(clickhouseAuthorization({ 'x-clickhouse-user': 'default' }, {})).toBeUndefined();
});
