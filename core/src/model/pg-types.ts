/**
 * The PostgreSQL column types a tiered table may use, and the one place that turns a
 * user's spelling into a canonical type. A type is supported only when every value
 * PostgreSQL can store in it has an exact ClickHouse counterpart (see
 * core/src/ddl/column-types.ts), so a row reads the same from either tier.
 */

export const PG_TYPE_KINDS = [
  'timestamptz',
  'timestamp',
  'text',
  'varchar',
  'float8',
  'float4',
  'int8',
  'int4',
  'int2',
  'bool',
  'numeric',
  'date',
  'uuid',
  'jsonb',
] as const;
export type PgTypeKind = (typeof PG_TYPE_KINDS)[number];

/** Kinds that avg/min/max/sum apply to. */
export const NUMERIC_PG_TYPE_KINDS: readonly PgTypeKind[] = ['float8', 'float4', 'int8', 'int4', 'int2', 'numeric'];

/** Kinds a time column may have (timestamp is read as UTC). */
export const TIME_PG_TYPE_KINDS: readonly PgTypeKind[] = ['timestamptz', 'timestamp'];

export interface PgType {
  kind: PgTypeKind;
  /** numeric(p,s): total digits, 1..76. */
  precision?: number;
  /** numeric(p,s): digits after the point, 0..p. */
  scale?: number;
  /** varchar(n): maximum characters. Absent: unbounded varchar. */
  length?: number;
  /**
   * The spelling PostgreSQL's format_type() prints (`timestamp with time zone`,
   * `character varying(20)`, `numeric(12,3)`), so a type read back from the catalog
   * compares equal to the one in the spec.
   */
  pgName: string;
}

/** What the error messages list as supported. */
export const SUPPORTED_PG_TYPES =
  'timestamptz, timestamp, text, varchar(n), double precision, real, bigint, integer, smallint, ' +
  'boolean, numeric(p,s), date, uuid, jsonb';

/** ClickHouse Decimal holds at most 76 digits (Decimal256). */
export const MAX_NUMERIC_PRECISION = 76;
/** PostgreSQL's limit for varchar(n). */
export const MAX_VARCHAR_LENGTH = 10_485_760;

/** Spellings without parameters, by kind; the first is the canonical pgName. */
const SPELLINGS: Record<PgTypeKind, { pgName: string; spellings: readonly string[] }> = {
  timestamptz: { pgName: 'timestamp with time zone', spellings: ['timestamptz', 'timestamp with time zone'] },
  timestamp: { pgName: 'timestamp without time zone', spellings: ['timestamp', 'timestamp without time zone'] },
  text: { pgName: 'text', spellings: ['text'] },
  varchar: { pgName: 'character varying', spellings: ['varchar', 'character varying'] },
  float8: { pgName: 'double precision', spellings: ['double precision', 'float8', 'float'] },
  float4: { pgName: 'real', spellings: ['real', 'float4'] },
  int8: { pgName: 'bigint', spellings: ['bigint', 'int8'] },
  int4: { pgName: 'integer', spellings: ['integer', 'int', 'int4'] },
  int2: { pgName: 'smallint', spellings: ['smallint', 'int2'] },
  bool: { pgName: 'boolean', spellings: ['boolean', 'bool'] },
  // numeric has no parameterless spelling that is supported: see parsePgType.
  numeric: { pgName: 'numeric', spellings: [] },
  date: { pgName: 'date', spellings: ['date'] },
  uuid: { pgName: 'uuid', spellings: ['uuid'] },
  jsonb: { pgName: 'jsonb', spellings: ['jsonb'] },
};

const SIMPLE = new Map<string, PgType>();
for (const kind of PG_TYPE_KINDS) {
  for (const s of SPELLINGS[kind].spellings) SIMPLE.set(s, { kind, pgName: SPELLINGS[kind].pgName });
}

// The shapes parsePgType accepts, as regular expressions over the *lower-cased* spelling
// that both ECMAScript and RE2 read alike. They feed the CRD's CEL rules
// (`self.lowerAscii().matches(...)`), so the API server refuses what the CLI refuses;
// range checks (precision ≤ 76) stay with parsePgType.
const WS = '\\s';
const VARCHAR_N_SHAPE = `(varchar|character${WS}+varying)${WS}*\\(${WS}*[0-9]+${WS}*\\)`;
const NUMERIC_P_S_SHAPE = `(numeric|decimal)${WS}*\\(${WS}*[0-9]+${WS}*(,${WS}*[0-9]+${WS}*)?\\)`;
function spellingPattern(kinds: readonly PgTypeKind[], extra: string[] = []): string {
  const alternatives = kinds.flatMap((k) => SPELLINGS[k].spellings.map((s) => s.replace(/ /g, `${WS}+`)));
  return `^${WS}*(${[...alternatives, ...extra].join('|')})${WS}*$`;
}
/** Every supported spelling (lower-cased). */
export const PG_TYPE_PATTERN = spellingPattern(PG_TYPE_KINDS, [VARCHAR_N_SHAPE, NUMERIC_P_S_SHAPE]);
/** Spellings of a time column's type (lower-cased). */
export const TIME_PG_TYPE_PATTERN = spellingPattern(TIME_PG_TYPE_KINDS);
/** Spellings of numeric types (lower-cased). */
export const NUMERIC_PG_TYPE_PATTERN = spellingPattern(
  NUMERIC_PG_TYPE_KINDS.filter((k) => k !== 'numeric'),
  [NUMERIC_P_S_SHAPE],
);

const VARCHAR_N = /^(?:varchar|character varying)\((\d+)\)$/;
const NUMERIC_P_S = /^(?:numeric|decimal)\((\d+)(?:,(\d+))?\)$/;

export type PgTypeResult = { ok: true; type: PgType } | { ok: false; reason: string };

/** Normalises a type spelling; never throws. `reason` is a sentence for the user. */
export function parsePgType(spelling: string): PgTypeResult {
  if (typeof spelling !== 'string') return { ok: false, reason: 'a column type must be a string' };
  // Case and whitespace are not significant in PostgreSQL type names; parentheses are
  // compared without the spaces users put around them.
  const s = spelling
    .trim()
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/\s*([(),])\s*/g, '$1');
  const simple = SIMPLE.get(s);
  if (simple) return { ok: true, type: { ...simple } };

  const v = VARCHAR_N.exec(s);
  if (v) {
    const length = Number(v[1]);
    if (length < 1 || length > MAX_VARCHAR_LENGTH) {
      return { ok: false, reason: `varchar length must be between 1 and ${MAX_VARCHAR_LENGTH}, got ${v[1]}` };
    }
    return { ok: true, type: { kind: 'varchar', length, pgName: `character varying(${length})` } };
  }

  const n = NUMERIC_P_S.exec(s);
  if (n) {
    const precision = Number(n[1]);
    const scale = n[2] === undefined ? 0 : Number(n[2]);
    if (precision < 1 || precision > MAX_NUMERIC_PRECISION) {
      return {
        ok: false,
        reason: `numeric precision must be between 1 and ${MAX_NUMERIC_PRECISION} (the widest ClickHouse Decimal), got ${precision}`,
      };
    }
    if (scale > precision) return { ok: false, reason: `numeric scale ${scale} is larger than its precision ${precision}` };
    return { ok: true, type: { kind: 'numeric', precision, scale, pgName: `numeric(${precision},${scale})` } };
  }

  if (s === 'numeric' || s === 'decimal') {
    return {
      ok: false,
      reason:
        `${s} without a precision is unbounded, and ClickHouse needs a fixed precision to hold it exactly: ` +
        `use numeric(p,s) with p ≤ ${MAX_NUMERIC_PRECISION}`,
    };
  }
  if (s === 'json') {
    return {
      ok: false,
      reason: 'json is not supported, use jsonb: the cold tier keeps the canonical jsonb text, which json does not have',
    };
  }
  return { ok: false, reason: `unsupported type ${JSON.stringify(spelling)}; supported types are ${SUPPORTED_PG_TYPES}` };
}

export class UnsupportedPgTypeError extends Error {
  readonly code = 'UNSUPPORTED_PG_TYPE' as const;
  constructor(
    readonly spelling: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'UnsupportedPgTypeError';
  }
}

/** Like parsePgType, for specs already validated: throws UnsupportedPgTypeError. */
export function normalizePgType(spelling: string): PgType {
  const r = parsePgType(spelling);
  if (!r.ok) throw new UnsupportedPgTypeError(spelling, r.reason);
  return r.type;
}

export function isNumericPgType(t: PgType): boolean {
  return NUMERIC_PG_TYPE_KINDS.includes(t.kind);
}
