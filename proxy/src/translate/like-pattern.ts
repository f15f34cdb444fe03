/**
 * A PostgreSQL LIKE pattern as the ClickHouse LIKE pattern that matches the same strings,
 * or undefined where PostgreSQL would raise an error (it must, through PostgreSQL).
 *
 * Both engines: `%` any run of characters, `_` exactly one character (ClickHouse counts
 * UTF-8 code points, checked on 26.7: 'é' LIKE '_' is 1, '日本' LIKE '__' is 1).
 * Escapes differ: PostgreSQL's escape character (backslash unless ESCAPE says otherwise,
 * none for ESCAPE '') makes the next character literal, whatever it is, and a pattern
 * ending in it is an error. ClickHouse's backslash escapes only `%`, `_` and `\`; before
 * another character it is not a plain literal ('ab' LIKE 'a\b' is 0 in ClickHouse). So the
 * pattern is rewritten with escapes only where ClickHouse needs them.
 */
export function likePatternToClickHouse(pattern: string, escape = '\\'): string | undefined {
  if ([...escape].length > 1) return undefined; // PostgreSQL: "invalid escape string"
  let out = '';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (escape !== '' && c === escape) {
      if (i + 1 >= chars.length) return undefined; // "LIKE pattern must not end with escape character"
      out += literal(chars[++i]);
    } else if (c === '%' || c === '_') out += c;
    else out += literal(c);
  }
  return out;
}

function literal(c: string): string {
  return c === '%' || c === '_' || c === '\\' ? '\\' + c : c;
}
