/**
 * Splits a simple-query string into statements at top-level semicolons, the way psql's
 * lexer does: quotes ('', E'' with backslashes, ""), dollar quotes, -- and nested block
 * comments are skipped. Empty statements are dropped. Pure and allocation-light: a
 * string without ';' is returned as is.
 */
export function splitStatements(sql: string): string[] {
  if (sql.indexOf(';') < 0) return sql.trim() === '' ? [] : [sql];
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = sql.length;
  const push = (end: number) => {
    const text = sql.slice(start, end);
    if (hasCode(text)) out.push(text);
  };
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 0x27 /* ' */) {
      const escapes = i > 0 && (sql[i - 1] === 'E' || sql[i - 1] === 'e') && !isIdentChar(sql.charCodeAt(i - 2));
      i++;
      while (i < n) {
        const d = sql.charCodeAt(i);
        if (escapes && d === 0x5c) i += 2;
        else if (d === 0x27) {
          if (sql.charCodeAt(i + 1) === 0x27) i += 2;
          else break;
        } else i++;
      }
      i++;
    } else if (c === 0x22 /* " */) {
      i = sql.indexOf('"', i + 1);
      i = i < 0 ? n : i + 1;
    } else if (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d) {
      i = sql.indexOf('\n', i);
      i = i < 0 ? n : i + 1;
    } else if (c === 0x2f && sql.charCodeAt(i + 1) === 0x2a) {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql.charCodeAt(i) === 0x2f && sql.charCodeAt(i + 1) === 0x2a) {
          depth++;
          i += 2;
        } else if (sql.charCodeAt(i) === 0x2a && sql.charCodeAt(i + 1) === 0x2f) {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (c === 0x24 /* $ */ && !isIdentChar(sql.charCodeAt(i - 1))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        i = close < 0 ? n : close + tag[0].length;
      } else i++;
    } else if (c === 0x3b /* ; */) {
      push(i);
      i++;
      start = i;
    } else i++;
  }
  push(n);
  return out;
}

function isIdentChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c >= 0x80;
}

/** True when the text holds more than whitespace and comments. */
function hasCode(text: string): boolean {
  return text.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, '').trim() !== '';
}
