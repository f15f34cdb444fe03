import { Micros } from '../model/table-model';
import { MalformedBodyError, BadRequestError } from '../errors';

/**
 * InfluxDB line protocol (v1 and v2 write APIs), per the InfluxDB 2 reference:
 *   measurement[,tag=v…] field=v[,field=v…] [timestamp]
 * with backslash escapes (commas and spaces in measurements; commas, equals and spaces in
 * keys and tag values; quotes and backslashes in string fields). Each field becomes one
 * row of influx_metrics: numbers (floats, `i` integers, `u` unsigned) and booleans in
 * `value`, strings in `value_text`, tags in `labels`.
 */

export const PRECISIONS = { ns: 1e-3, n: 1e-3, us: 1, u: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 } as const;
export type Precision = keyof typeof PRECISIONS;

export function precisionOf(v: unknown): Precision {
  const p = typeof v === 'string' && v !== '' ? v : 'ns';
  if (!(p in PRECISIONS)) throw new BadRequestError(`unknown precision "${p}" (ns, us, ms, s)`);
  return p as Precision;
}

type Row = Record<string, unknown>;

export function parseLineProtocol(text: string, precision: Precision, nowMicros: number): Row[] {
  const rows: Row[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].replace(/\r$/, '');
    const trimmed = line.trimStart();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    try {
      parseLine(trimmed, precision, nowMicros, rows);
    } catch (err) {
      if (err instanceof LineError) throw new MalformedBodyError(`line protocol, line ${n + 1}: ${err.message}`);
      throw err;
    }
  }
  return rows;
}

class LineError extends Error {}

function parseLine(line: string, precision: Precision, nowMicros: number, out: Row[]): void {
  let i = 0;
  // Measurement, then tags, up to the first unescaped space.
  const readUntil = (stops: string): string => {
    let s = '';
    while (i < line.length && !stops.includes(line[i])) {
      if (line[i] === '\\' && i + 1 < line.length) {
        s += line[i + 1];
        i += 2;
      } else s += line[i++];
    }
    return s;
  };
  const measurement = readUntil(', ');
  if (measurement === '') throw new LineError('missing measurement');
  const tags: Record<string, string> = {};
  while (line[i] === ',') {
    i++;
    const key = readUntil('=, ');
    if (line[i] !== '=' || key === '') throw new LineError('malformed tag (expected key=value)');
    i++;
    const value = readUntil(', ');
    if (value === '') throw new LineError(`tag ${key} has an empty value`);
    tags[key] = value;
  }
  if (line[i] !== ' ') throw new LineError('expected a space before the fields');
  while (line[i] === ' ') i++;
  const fields: Array<[string, number | boolean | string]> = [];
  for (;;) {
    const key = readUntil('=, ');
    if (line[i] !== '=' || key === '') throw new LineError('malformed field (expected key=value)');
    i++;
    let value: number | boolean | string;
    if (line[i] === '"') {
      i++;
      let s = '';
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) {
          s += line[i + 1];
          i += 2;
        } else s += line[i++];
      }
      if (line[i] !== '"') throw new LineError(`field ${key}: unterminated string`);
      i++;
      value = s;
    } else {
      const raw = readUntil(', ');
      value = fieldValue(raw, key);
    }
    fields.push([key, value]);
    if (line[i] === ',') {
      i++;
      continue;
    }
    break;
  }
  if (fields.length === 0) throw new LineError('no fields');
  while (line[i] === ' ') i++;
  let micros = nowMicros;
  const tsText = line.slice(i).trim();
  if (tsText !== '') {
    if (!/^-?\d+$/.test(tsText)) throw new LineError('timestamp is not an integer');
    micros = scaleTimestamp(BigInt(tsText), precision);
  }
  const time = new Micros(micros);
  for (const [field, v] of fields) {
    out.push({
      time,
      measurement,
      field,
      value: typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : null,
      value_text: typeof v === 'string' ? v : null,
      labels: tags,
    });
  }
}

function scaleTimestamp(t: bigint, precision: Precision): number {
  switch (precision) {
    case 'ns':
    case 'n':
      return Number(t / 1000n);
    default:
      return Number(t) * PRECISIONS[precision];
  }
}

const FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function fieldValue(raw: string, key: string): number | boolean {
  if (raw === '') throw new LineError(`field ${key} has no value`);
  const last = raw[raw.length - 1];
  if (last === 'i' || last === 'u') {
    const digits = raw.slice(0, -1);
    if (!/^-?\d+$/.test(digits) || (last === 'u' && digits.startsWith('-'))) throw new LineError(`field ${key}: malformed integer`);
    return Number(digits);
  }
  if (/^(t|T|true|True|TRUE)$/.test(raw)) return true;
  if (/^(f|F|false|False|FALSE)$/.test(raw)) return false;
  if (!FLOAT.test(raw)) throw new LineError(`field ${key}: not a number, boolean or quoted string`);
  return Number(raw);
}
