import { resetStatements, sessionSettingsQuery, setConfigQuery } from './set-statements';

describe('settings sync queries', () => {
  it('resets quoted names', () => {
    expect(resetStatements(['timezone', 'app.tag'])).toBe('RESET "timezone"; RESET "app"."tag"');
  });

  it('sets values through set_config, read as startup values are', () => {
    expect(setConfigQuery([['search_path', '"$user", public'], ['app.tag', "it's"]])).toBe(
      `SELECT pg_catalog.set_config('search_path', '"$user", public', false), pg_catalog.set_config('app.tag', 'it''s', false)`,
    );
  });

  it('reads back session-sourced, role, authorization and custom settings', () => {
    const sql = sessionSettingsQuery(['app.tag'], "o'brien");
    expect(sql).toContain("FROM pg_catalog.pg_settings WHERE source = 'session'");
    expect(sql).toContain("<> 'o''brien'");
    expect(sql).toContain("ARRAY['app.tag']::text[]");
    expect(sessionSettingsQuery([], 'u')).not.toContain('unnest');
  });

  it('refuses NUL', () => {
    expect(() => setConfigQuery([['a', 'b\0']])).toThrow(RangeError);
    expect(() => resetStatements(['a\0'])).toThrow(RangeError);
  });
});
