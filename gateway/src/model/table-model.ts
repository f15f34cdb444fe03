import { LABELS_COLUMN, tieredColumns, type TieredColumn, type TieredTableSpec, type UnknownFieldsPolicy } from '@strata/core';
import { WrongTypeError } from '../errors';
import { jsonbText } from './jsonb-text';
import { epochNumberToMicros, formatMicros, isPlainRfc3339, parseTimestampText } from './timestamp';

/**
 * A registered table as the writers see it: which store takes its rows and how one JSON
 * row becomes one line of PostgreSQL COPY text / ClickHouse TabSeparated. Both formats
 * escape `\`, tab, newline and CR with a backslash and spell NULL `\N`, so one encoder
 * serves both; only the timestamp suffix and the cold tier's `_strata_gen` differ.
 */

export type WriteTarget = 'postgresql' | 'clickhouse';

/** A timestamp already in microseconds (protocol decoders), so no unit is guessed. */
export class Micros {
  constructor(readonly value: number) {}
}

export { LABELS_COLUMN };

/**
 * Thrown by encodeRow when a table that adds columns for new fields meets one: not a
 * client error, a signal to Ingest to evolve the table and encode again.
 */
export class NewFieldsError extends Error {
  constructor(readonly table: string) {
    super(`rows of table ${table} carry fields it has no column for yet`);
    this.name = 'NewFieldsError';
  }
}

/** Value → text; `where` names row and column in an error (a callback keeps the hot path allocation-free). */
type Encode = (v: unknown, where: Where) => string;
interface Where {
  (): string;
}

export interface TableModel {
  readonly spec: TieredTableSpec;
  readonly target: WriteTarget;
  readonly columns: readonly TieredColumn[];
  /** Column names in the order encodeRow writes them (the cold tier adds `_strata_gen`). */
  readonly copyColumns: readonly string[];
  readonly hasLabels: boolean;
  /** What a field that names no column becomes (spec.ingest.unknownFields, or its default). */
  readonly unknownFields: UnknownFieldsPolicy;
  hasColumn(name: string): boolean;
  /**
   * One row → one line (with `\n`). Throws WrongTypeError naming row and column, or
   * NewFieldsError for a non-null field without a column under the addColumns policy.
   */
  encodeRow(row: Record<string, unknown>, rowNo: number): string;
}

/** Cold rows written directly belong to generation 0: visible from the start (committed_gen ≥ 0). */
const DIRECT_WRITE_GENERATION = '0';

export function tableModel(spec: TieredTableSpec): TableModel {
  const target: WriteTarget = spec.mode === 'cold-only' ? 'clickhouse' : 'postgresql';
  const columns = tieredColumns(spec);
  const names = columns.map((c) => c.name);
  const byName = new Map(columns.map((c, i) => [c.name, i]));
  const labelsIdx = columns.findIndex((c) => c.name === LABELS_COLUMN && c.pg.kind === 'jsonb');
  const unknownFields: UnknownFieldsPolicy = spec.ingest?.unknownFields ?? (labelsIdx >= 0 ? 'labels' : 'reject');
  const encoders = columns.map((c) => encoderFor(c, target));
  const suffix = target === 'clickhouse' ? '\t' + DIRECT_WRITE_GENERATION + '\n' : '\n';
  const rejectReason =
    labelsIdx >= 0
      ? `table ${spec.table} takes only its columns: its spec.ingest.unknownFields is reject`
      : `table ${spec.table} has no ${LABELS_COLUMN} column to keep it; spec.ingest.unknownFields: addColumns would add a column for it`;
  const n = columns.length;
  let whereRow = 0;
  let whereCol = '';
  const where: Where = () => `row ${whereRow}: column ${whereCol}`;

  function encodeRow(row: Record<string, unknown>, rowNo: number): string {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new WrongTypeError(`row ${rowNo}: expected a JSON object`);
    }
    const values: unknown[] = new Array(n);
    let extra: Record<string, unknown> | undefined;
    for (const key in row) {
      const i = byName.get(key);
      if (i !== undefined) values[i] = row[key];
      else if (unknownFields === 'labels') (extra ??= {})[key] = row[key];
      else if (unknownFields === 'addColumns') {
        // A null names no type to create a column with, and stores nothing.
        if (row[key] !== null && row[key] !== undefined) throw new NewFieldsError(spec.table);
      } else throw new WrongTypeError(`row ${rowNo}: unknown field ${JSON.stringify(key)} (${rejectReason})`);
    }
    if (extra) {
      const given = values[labelsIdx];
      if (given !== undefined && given !== null && (typeof given !== 'object' || Array.isArray(given))) {
        throw new WrongTypeError(`row ${rowNo}: column ${LABELS_COLUMN}: expected an object to merge unknown fields into`);
      }
      values[labelsIdx] = { ...(given as object | undefined), ...extra };
    }
    let line = '';
    for (let i = 0; i < n; i++) {
      const col = columns[i];
      const v = values[i];
      if (v === undefined || v === null) {
        if (col.notNull) throw new WrongTypeError(`row ${rowNo}: column ${col.name} is required`);
        line += i === 0 ? '\\N' : '\t\\N';
        continue;
      }
      whereRow = rowNo;
      whereCol = col.name;
      const text = encoders[i](v, where);
      line += (i === 0 ? '' : '\t') + escapeCopyText(text);
    }
    return line + suffix;
  }

  return {
    spec,
    target,
    columns,
    copyColumns: target === 'clickhouse' ? [...names, '_strata_gen'] : names,
    hasLabels: labelsIdx >= 0,
    unknownFields,
    hasColumn: (name) => byName.has(name),
    encodeRow,
  };
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;
export function escapeCopyText(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function wrong(where: () => string, expected: string, v: unknown): never {
  throw new WrongTypeError(`${where()}: expected ${expected}, got ${typeName(v)}`);
}

const INT_RANGE = {
  int2: [-32768, 32767],
  int4: [-2147483648, 2147483647],
} as const;
const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

const NUMERIC_TEXT = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const UUID_TEXT = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;
const DATE_TEXT = /^\d{4}-\d{2}-\d{2}$/;

function encoderFor(col: TieredColumn, target: WriteTarget): Encode {
  const tz = target === 'postgresql' ? '+00' : '';
  switch (col.pg.kind) {
    case 'timestamptz':
    case 'timestamp':
      return (v, where) => {
        let micros: number | undefined;
        if (v instanceof Micros) micros = v.value;
        else if (typeof v === 'string') {
          // PostgreSQL reads RFC 3339 text itself: checked here, passed on unchanged (the hot path).
          if (target === 'postgresql' && isPlainRfc3339(v)) return v;
          micros = parseTimestampText(v);
        } else if (typeof v === 'number') micros = epochNumberToMicros(v);
        else wrong(where, 'an RFC 3339 timestamp or epoch number', v);
        if (micros === undefined) throw new WrongTypeError(`${where()}: not a timestamp between 1900 and 2299 (RFC 3339 text or epoch s/ms/µs/ns)`);
        return formatMicros(micros) + tz;
      };
    case 'text':
    case 'varchar': {
      const max = col.pg.length;
      return (v, where) => {
        let s: string;
        if (typeof v === 'string') s = v;
        else if (typeof v === 'number' || typeof v === 'boolean') s = String(v);
        else wrong(where, 'a string', v);
        if (s.includes('\0')) throw new WrongTypeError(`${where()}: text cannot contain NUL characters`);
        if (max !== undefined && [...s].length > max) throw new WrongTypeError(`${where()}: longer than varchar(${max})`);
        return s;
      };
    }
    case 'float8':
    case 'float4':
      return (v, where) => {
        if (typeof v === 'number') return floatText(v, target);
        if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return floatText(Number(v), target);
        return wrong(where, 'a number', v);
      };
    case 'int8':
      return (v, where) => {
        let b: bigint;
        if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
        else if (typeof v === 'string' && /^-?\d{1,19}$/.test(v)) b = BigInt(v);
        else if (typeof v === 'bigint') b = v;
        else return wrong(where, 'an integer', v);
        if (b < INT8_MIN || b > INT8_MAX) throw new WrongTypeError(`${where()}: out of range for bigint`);
        return b.toString();
      };
    case 'int4':
    case 'int2': {
      const [lo, hi] = INT_RANGE[col.pg.kind];
      return (v, where) => {
        const n = typeof v === 'string' && /^-?\d{1,10}$/.test(v) ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isInteger(n)) return wrong(where, 'an integer', v);
        if (n < lo || n > hi) throw new WrongTypeError(`${where()}: out of range for ${col.pgType}`);
        return String(n);
      };
    }
    case 'numeric':
      return (v, where) => {
        const s = typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' ? v : wrong(where, 'a number', v);
        if (!NUMERIC_TEXT.test(s)) throw new WrongTypeError(`${where()}: not a decimal number`);
        return s;
      };
    case 'bool':
      return (v, where) => (typeof v === 'boolean' ? (v ? 'true' : 'false') : wrong(where, 'a boolean', v));
    case 'jsonb': {
      // Protocol decoders share one resource/scope object across a request's rows: the
      // last object's text is kept, so it is serialised once per run of rows.
      let lastValue: unknown;
      let lastText = '';
      return (v, where) => {
        if (v === lastValue && typeof v === 'object') return lastText;
        try {
          // PostgreSQL canonicalises jsonb on input; ClickHouse keeps the text, so it gets the canonical form.
          let text: string;
          if (target === 'postgresql') {
            if (typeof v === 'number' && !Number.isFinite(v)) throw new RangeError('not JSON');
            text = JSON.stringify(v);
          } else text = jsonbText(v);
          if (typeof v === 'object') {
            lastValue = v;
            lastText = text;
          }
          return text;
        } catch {
          throw new WrongTypeError(`${where()}: not representable as jsonb`);
        }
      };
    }
    case 'date':
      return (v, where) => {
        if (typeof v !== 'string' || !DATE_TEXT.test(v) || parseTimestampText(v) === undefined) return wrong(where, 'a YYYY-MM-DD date', v);
        return v;
      };
    case 'uuid':
      return (v, where) => {
        if (typeof v !== 'string' || !UUID_TEXT.test(v)) return wrong(where, 'a UUID', v);
        return v.toLowerCase();
      };
  }
}

/**
 * Shortest round-trip text (JS and PostgreSQL ≥ 12 agree for doubles); ClickHouse spells
 * the non-finite values in lower case.
 */
export function floatText(n: number, target: WriteTarget): string {
  if (Number.isFinite(n)) return String(n);
  if (target === 'postgresql') return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
  return Number.isNaN(n) ? 'nan' : n > 0 ? 'inf' : '-inf';
}
