/**
 * `SET name = 'value'; …` for settings a server must take on for a client; names may be
 * dotted (strata.route). Quoting follows core's pgIdent/pgLiteral (ddl/sql.ts); it is
 * repeated here because importing @strata/core's index loads the embedded ClickHouse
 * engine (~170 MB and ~0.6 s at start) into a process that never uses it.
 */
function pgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function pgLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function setStatements(changes: ReadonlyArray<[string, string]>): string {
  for (const [name, value] of changes) {
    // A NUL cannot be sent inside a query string; startup parameters never hold one.
    if (name.includes('\0') || value.includes('\0')) throw new RangeError('setting contains NUL');
  }
  return changes.map(([name, value]) => `SET ${name.split('.').map(pgIdent).join('.')} = ${pgLiteral(value)}`).join('; ');
}
