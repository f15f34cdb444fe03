/**
 * PostgreSQL's canonical jsonb text for a JSON value: what `jsonb_out` prints, so a row
 * written straight to a cold-only table reads back exactly as the same row would from a
 * hot table (core keeps jsonb as this text in ClickHouse). jsonb orders object keys by
 * length, then bytewise, keeps the last of duplicate keys, and separates with ", " / ": ".
 */
export function jsonbText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError('JSON has no NaN or Infinity');
      return numberText(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object': {
      if (Array.isArray(value)) return '[' + value.map(jsonbText).join(', ') + ']';
      const keys = Object.keys(value as object).filter((k) => (value as Record<string, unknown>)[k] !== undefined);
      keys.sort(compareJsonbKeys);
      return '{' + keys.map((k) => JSON.stringify(k) + ': ' + jsonbText((value as Record<string, unknown>)[k])).join(', ') + '}';
    }
    default:
      throw new TypeError(`cannot store a ${typeof value} in jsonb`);
  }
}

function compareJsonbKeys(a: string, b: string): number {
  const la = Buffer.byteLength(a);
  const lb = Buffer.byteLength(b);
  if (la !== lb) return la - lb;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** jsonb prints numbers as numeric does: no exponent (1e21 → 1000000000000000000000). */
function numberText(n: number): string {
  const s = String(n);
  if (!/e/i.test(s)) return s;
  const [mant, expText] = s.split(/e/i);
  const exp = Number(expText);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const point = (mant.replace('-', '').indexOf('.') === -1 ? mant.replace('-', '').length : mant.replace('-', '').indexOf('.')) + exp;
  let out: string;
  if (point <= 0) out = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = digits.slice(0, point) + '.' + digits.slice(point);
  return (neg ? '-' : '') + out;
}
