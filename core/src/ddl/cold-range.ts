import type { TieredTableSpec } from '../model/tiered-table';
import { tieredColumns, type TieredColumn } from './column-types';
import { pgIdent, pgLiteral } from './sql';
import { hotTable, shortName } from './postgres';

/**
 * Values PostgreSQL stores that the cold tier cannot hold, and the CHECK constraints
 * that refuse them at write time. One such row below W would fail every tiering run
 * (its move can never verify), so W would stop and PostgreSQL grow without bound.
 *
 * - timestamp, timestamptz, date: ClickHouse DateTime64(6)/Date32 hold 1900-01-01 up to
 *   2299-12-31, and the tierer carries microseconds in a JS number, exact up to 2^53 µs
 *   (2255-06-05); ±infinity has no counterpart. One range in whole years for all three,
 *   read as UTC.
 * - numeric(p,s): NaN has no Decimal counterpart (a numeric with a typmod cannot hold
 *   ±Infinity at all).
 *
 * Only tables with a cold tier (hot-then-cold) get the constraints: a hot-only table
 * may keep any value PostgreSQL takes.
 */
export const COLD_TIME_FROM = '1900-01-01 00:00:00';
export const COLD_TIME_TO = '2255-01-01 00:00:00';

/** The function a constraint calls to raise its error: a CHECK alone cannot say what it allows. */
export const REFUSE_FUNCTION = 'strata.refuse_unholdable_value';

export interface ColdRangeCheck {
  column: string;
  constraint: string;
  /** SQL true when the column's value can be held by the cold tier (NULL included); never NULL. */
  holdable: string;
  /** What the column may hold, in words, for the error message, the quarantine reason and `strata apply`. */
  allowed: string;
}

export function coldRangeChecks(spec: TieredTableSpec): ColdRangeCheck[] {
  if (spec.mode !== 'hot-then-cold') return [];
  const out: ColdRangeCheck[] = [];
  for (const c of tieredColumns(spec)) {
    const bounded = boundedBy(c);
    if (!bounded) continue;
    out.push({
      column: c.name,
      constraint: coldRangeConstraintName(spec, c.name),
      holdable: c.notNull ? bounded.sql : `(${pgIdent(c.name)} IS NULL OR ${bounded.sql})`,
      allowed: bounded.allowed,
    });
  }
  return out;
}

export function coldRangeConstraintName(spec: TieredTableSpec, column: string): string {
  return shortName(spec.table, `_${column}_cold_range`);
}

function boundedBy(c: TieredColumn): { sql: string; allowed: string } | null {
  const col = pgIdent(c.name);
  const range = (type: string, from: string, to: string) => ({
    sql: `(${col} >= ${pgLiteral(from)}::${type} AND ${col} < ${pgLiteral(to)}::${type})`,
    allowed: `${from} <= ${c.name} < ${to}`,
  });
  switch (c.pg.kind) {
    case 'timestamptz':
      return range('timestamptz', `${COLD_TIME_FROM}+00`, `${COLD_TIME_TO}+00`);
    case 'timestamp':
      return range('timestamp', COLD_TIME_FROM, COLD_TIME_TO);
    case 'date':
      return range('date', COLD_TIME_FROM.slice(0, 10), COLD_TIME_TO.slice(0, 10));
    case 'numeric':
      return { sql: `${col} <> 'NaN'::numeric`, allowed: `${c.name} is a number (not NaN)` };
    default:
      return null;
  }
}

/**
 * The refusing function. It raises check_violation with the constraint, table and
 * column in their error fields, as PostgreSQL's own CHECK failure does, and a message
 * naming the range. Called only when the plain comparisons before it are false: valid
 * rows cost the comparisons alone.
 */
export const REFUSE_FUNCTION_SQL = `CREATE OR REPLACE FUNCTION ${REFUSE_FUNCTION}(value text, table_schema text, table_name text, column_name text, constraint_name text, allowed text)
  RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RAISE EXCEPTION 'value % of column "%" of tiered table "%.%" is outside what its cold tier (ClickHouse) can hold: % (constraint "%")',
      value, column_name, table_schema, table_name, allowed, constraint_name
    USING ERRCODE = 'check_violation', CONSTRAINT = constraint_name, SCHEMA = table_schema, TABLE = table_name, COLUMN = column_name,
      HINT = 'strata apply keeps this constraint so that every row can move to the cold tier; store such values in another column type';
END $$`;

export function addColdRangeCheckSql(spec: TieredTableSpec, check: ColdRangeCheck, opts: { notValid: boolean }): string {
  const args = [`${pgIdent(check.column)}::text`, ...[spec.schema, spec.table, check.column, check.constraint, check.allowed].map(pgLiteral)];
  return (
    `ALTER TABLE ${hotTable(spec)} ADD CONSTRAINT ${pgIdent(check.constraint)} ` +
    `CHECK (${check.holdable} OR ${REFUSE_FUNCTION}(${args.join(', ')}))${opts.notValid ? ' NOT VALID' : ''}`
  );
}

export function validateColdRangeCheckSql(spec: TieredTableSpec, check: ColdRangeCheck): string {
  return `ALTER TABLE ${hotTable(spec)} VALIDATE CONSTRAINT ${pgIdent(check.constraint)}`;
}

/** SQL true for a row some column of which the cold tier cannot hold; null when no column can hold such a value. */
export function unholdableRowSql(checks: ColdRangeCheck[]): string | null {
  return checks.length === 0 ? null : checks.map((c) => `NOT ${c.holdable}`).join(' OR ');
}

/** SQL text naming, for one row, each column the cold tier cannot hold and what it allows. */
export function unholdableReasonSql(checks: ColdRangeCheck[]): string {
  const parts = checks.map(
    (c) => `CASE WHEN NOT ${c.holdable} THEN ${pgLiteral(`${c.column} = `)} || ${pgIdent(c.column)}::text || ${pgLiteral(` is outside ${c.allowed}`)} END`,
  );
  return `concat_ws('; ', ${parts.join(', ')})`;
}
