/**
 * The SQL that brings a server to a client's session settings and reads them back;
 * names may be dotted (strata.route). Quoting follows core's pgIdent/pgLiteral
 * (ddl/sql.ts); it is repeated here because importing @strata/core's index loads the
 * embedded ClickHouse engine (~170 MB and ~0.6 s at start) into a process that never
 * uses it.
 */
function pgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function pgLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function qualifiedIdent(name: string): string {
  return name.split('.').map(pgIdent).join('.');
}

/** A NUL cannot be sent inside a query string; startup parameters never hold one. */
function noNul(values: readonly string[]): void {
  for (const value of values) if (value.includes('\0')) throw new RangeError('setting contains NUL');
}

/** `RESET name; …`: back to the server's own login value. */
export function resetStatements(names: readonly string[]): string {
  noNul(names);
  return names.map((name) => `RESET ${qualifiedIdent(name)}`).join('; ');
}

/**
 * One SELECT of `set_config(name, value, false)` calls. Unlike `SET name = 'value'`, the
 * value is read as PostgreSQL reads a startup parameter or current_setting()'s output:
 * `SET search_path = 'a, b'` would name one schema "a, b", set_config names two.
 */
export function setConfigQuery(changes: ReadonlyArray<[string, string]>): string {
  noNul(changes.flat());
  return `SELECT ${changes.map(([name, value]) => `pg_catalog.set_config(${pgLiteral(name)}, ${pgLiteral(value)}, false)`).join(', ')}`;
}

/**
 * Rows of (name, value) for every setting the session changed from its login value:
 * pg_settings' 'session' source, the role and session authorization (not in pg_settings,
 * nor reset by RESET ALL), and the given custom (dotted) names, which pg_settings does
 * not list while no module defines them (an empty value counts as unset).
 */
export function sessionSettingsQuery(customNames: Iterable<string>, loginUser: string): string {
  const custom = [...customNames];
  noNul([...custom, loginUser]);
  const parts = [
    `SELECT name, pg_catalog.current_setting(name) FROM pg_catalog.pg_settings WHERE source = 'session'`,
    `SELECT 'session_authorization', pg_catalog.current_setting('session_authorization') WHERE pg_catalog.current_setting('session_authorization') <> ${pgLiteral(loginUser)}`,
    `SELECT 'role', pg_catalog.current_setting('role') WHERE pg_catalog.current_setting('role') <> 'none'`,
  ];
  if (custom.length > 0) {
    parts.push(`SELECT n, pg_catalog.current_setting(n, true) FROM pg_catalog.unnest(ARRAY[${custom.map(pgLiteral).join(', ')}]::text[]) AS n WHERE pg_catalog.current_setting(n, true) <> ''`);
  }
  return parts.join(' UNION ALL ');
}
