/**
 * The TOML the examples use, parsed for tests that check a configuration a tool would
 * read: `[a.b]` tables, `key = value` and dotted keys (`auth.user = …`), values that are
 * basic or literal strings (''' multi-line too), integers, booleans and arrays of those.
 * Anything else throws, so a test never reads a file it only half understands.
 */
export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

export function parseTomlSubset(text: string): TomlTable {
  const root: TomlTable = {};
  let table = root;
  const lines = text.split('\n');
  const at = (t: TomlTable, path: string[]): TomlTable => {
    let cur = t;
    for (const k of path) cur = (cur[k] ??= {}) as TomlTable;
    return cur;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[([A-Za-z0-9_.-]+)\]$/.exec(line);
    if (header) {
      table = at(root, header[1].split('.'));
      continue;
    }
    const kv = /^([A-Za-z0-9_.-]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) throw new Error(`line ${i + 1}: not understood: ${line}`);
    const path = kv[1].split('.');
    let raw = kv[2];
    if (raw.startsWith("'''")) {
      const body: string[] = [raw.slice(3)];
      while (!body[body.length - 1].endsWith("'''")) {
        if (++i >= lines.length) throw new Error("unterminated ''' string");
        body.push(lines[i]);
      }
      const joined = body.join('\n');
      raw = JSON.stringify(joined.slice(0, -3).replace(/^\n/, ''));
    }
    const quoted = raw.startsWith('"') || raw.startsWith("'");
    at(table, path.slice(0, -1))[path[path.length - 1]] = value(quoted ? raw : raw.replace(/\s+#.*$/, ''), i + 1);
  }
  return root;
}

function value(raw: string, lineNo: number): TomlValue {
  const s = raw.trim();
  if (s.startsWith('"')) return JSON.parse(s) as string;
  if (s.startsWith("'")) return s.slice(1, -1);
  if (s === 'true' || s === 'false') return s === 'true';
  if (/^-?\d+$/.test(s)) return Number(s);
  if (s.startsWith('[') && s.endsWith(']')) {
    const inner = s.slice(1, -1).trim();
    return inner === '' ? [] : (JSON.parse(`[${inner.replace(/'([^']*)'/g, (_m, v: string) => JSON.stringify(v))}]`) as TomlValue[]);
  }
  throw new Error(`line ${lineNo}: value not understood: ${s}`);
}
