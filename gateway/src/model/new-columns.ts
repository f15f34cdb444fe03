import { columnNameProblem, type ColumnSpec } from '@strata/core';
import { BadRequestError } from '../errors';
import { Micros, type TableModel } from './table-model';

/**
 * The columns a request's rows need under the addColumns policy: one per field that
 * names no column, typed from its JSON value. Only what JSON itself says is used — a
 * number is double precision even when it looks integral (the next row may carry 0.5,
 * and a bigint column would refuse it), a string is text even when it looks like a
 * timestamp. Protocol decoders' typed values keep their type (Micros: timestamptz,
 * bigint: bigint). Null carries no type and stores nothing: it adds no column.
 */

export function jsonColumnType(v: unknown): string {
  switch (typeof v) {
    case 'number':
      return 'double precision';
    case 'string':
      return 'text';
    case 'boolean':
      return 'boolean';
    case 'bigint':
      return 'bigint';
    default:
      return v instanceof Micros || v instanceof Date ? 'timestamptz' : 'jsonb';
  }
}

/** Throws BadRequestError naming the field when it cannot be a column or rows disagree on its type. */
export function newColumnsFor(model: TableModel, rows: ArrayLike<Record<string, unknown>>): ColumnSpec[] {
  const found = new Map<string, { type: string; rowNo: number }>();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    for (const key in row) {
      const v = row[key];
      if (v === null || v === undefined || model.hasColumn(key)) continue;
      const rowNo = i + 1;
      const type = jsonColumnType(v);
      const seen = found.get(key);
      if (seen === undefined) {
        const problem = columnNameProblem(key);
        if (problem) throw new BadRequestError(`row ${rowNo}: field ${JSON.stringify(key)} cannot become a column of table ${model.spec.table}: it ${problem}`);
        found.set(key, { type, rowNo });
      } else if (seen.type !== type) {
        throw new BadRequestError(
          `field ${JSON.stringify(key)} is new to table ${model.spec.table} and its rows disagree on its type ` +
            `(row ${seen.rowNo}: ${seen.type}, row ${rowNo}: ${type}); a new column takes one type`,
        );
      }
    }
  }
  return [...found].map(([name, { type }]) => ({ name, type }));
}
