/**
 * Quoting for the two SQL dialects. Every identifier and literal that reaches a
 * statement built by Strata goes through one of these; nothing is concatenated raw.
 */

/** PostgreSQL identifier: always double-quoted, embedded quotes doubled. */
export function pgIdent(name: string): string {
  assertNoNul(name);
  return '"' + name.replace(/"/g, '""') + '"';
}

/** `"schema"."table"` */
export function pgQualified(schema: string, name: string): string {
  return pgIdent(schema) + '.' + pgIdent(name);
}

/** PostgreSQL string literal (standard_conforming_strings=on, the default since 9.1). */
export function pgLiteral(value: string): string {
  assertNoNul(value);
  return "'" + value.replace(/'/g, "''") + "'";
}

/** ClickHouse identifier: backquoted, backslash and backquote escaped. */
export function chIdent(name: string): string {
  assertNoNul(name);
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

export function chQualified(database: string, name: string): string {
  return chIdent(database) + '.' + chIdent(name);
}

/** ClickHouse string literal: single quotes, backslash escapes. */
export function chLiteral(value: string): string {
  assertNoNul(value);
  return "'" + value.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

/**
 * `{t0:String}, {t1:String}, …` for an `IN (…)` list bound as query parameters, with the
 * parameters (named `prefix` + index) added to `params`.
 */
export function chStringListParams(values: readonly string[], params: Record<string, string>, prefix = 't'): string {
  return values
    .map((v, i) => {
      params[`${prefix}${i}`] = v;
      return `{${prefix}${i}:String}`;
    })
    .join(', ');
}

function assertNoNul(s: string): void {
  if (s.includes('\0')) throw new Error('identifiers and literals may not contain NUL bytes');
}
