import { customSettingNames, mayChangeSettings } from './session-settings';

describe('mayChangeSettings', () => {
  it.each([
    'SET search_path = a',
    'set local TimeZone to UTC',
    '  \n\tReset all',
    'DISCARD ALL',
    '/* leading comment */ SET x.y = 1',
    '-- note\nRESET ROLE',
    'BEGIN; SET LOCAL statement_timeout = 1; COMMIT',
    "SELECT pg_catalog.set_config('search_path', 'a', false)",
    "SELECT SET_CONFIG('a.b', 'c', false)",
    'DO $$ BEGIN SET search_path = a; END $$',
  ])('sees %j', (sql) => {
    expect(mayChangeSettings(sql)).toBe(true);
  });

  it.each([
    'SELECT 1',
    'select * from settings',
    'SHOW search_path',
    'UPDATE t SET a = 1',
    'INSERT INTO t VALUES (1)',
    'DELETE FROM t',
    'DROP TABLE t; DELETE FROM u',
    'reserve',
    'SETTLE',
    '',
    '(SELECT 1)',
    'WITH x AS (SELECT 1) SELECT * FROM x',
  ])('passes over %j', (sql) => {
    expect(mayChangeSettings(sql)).toBe(false);
  });
});

describe('customSettingNames', () => {
  it('finds dotted names in SET, RESET and set_config, lower-cased and unquoted', () => {
    expect(customSettingNames(`SET app.User_Id = 7; SET LOCAL "My"."Tag" TO 'x'; RESET session app.other; SELECT set_config('jwt.claims.role', 'r', false), set_config('search_path', 'a', false)`)).toEqual([
      'app.user_id',
      'my.tag',
      'app.other',
      'jwt.claims.role',
    ]);
  });

  it('ignores built-in names', () => {
    expect(customSettingNames('SET search_path = a; RESET ALL; SET TIME ZONE UTC')).toEqual([]);
  });
});
