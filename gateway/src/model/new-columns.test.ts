import { validateTieredTable, type UnknownFieldsPolicy } from '@strata/core';
import { BadRequestError, WrongTypeError } from '../errors';
import { newColumnsFor } from './new-columns';
import { Micros, NewFieldsError, tableModel } from './table-model';

function model(unknownFields: UnknownFieldsPolicy | undefined, withLabels = false) {
  const r = validateTieredTable({
    table: 't',
    timeColumn: 'time',
    columns: [{ name: 'time', type: 'timestamptz' }, { name: 'v', type: 'double precision' }, ...(withLabels ? [{ name: 'labels', type: 'jsonb' }] : [])],
    ...(unknownFields ? { ingest: { unknownFields } } : {}),
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return tableModel(r.spec);
}

describe('unknown fields by policy', () => {
  test('absent policy: labels when the table has a labels column, else refused naming the field and the way out', () => {
    expect(model(undefined, true).unknownFields).toBe('labels');
    const m = model(undefined);
    expect(m.unknownFields).toBe('reject');
    expect(() => m.encodeRow({ time: 1, cpu: 2 }, 3)).toThrow(WrongTypeError);
    expect(() => m.encodeRow({ time: 1, cpu: 2 }, 3)).toThrow('row 3: unknown field "cpu" (table t has no labels column to keep it; spec.ingest.unknownFields: addColumns would add a column for it)');
  });

  test('reject refuses even with a labels column', () => {
    expect(() => model('reject', true).encodeRow({ time: 1, cpu: 2 }, 1)).toThrow('takes only its columns');
  });

  test('addColumns signals new non-null fields; a null one is ignored', () => {
    const m = model('addColumns', true);
    expect(() => m.encodeRow({ time: 1, cpu: 2 }, 1)).toThrow(NewFieldsError);
    expect(m.encodeRow({ time: 1, cpu: null }, 1)).toBe('1970-01-01 00:00:01.000000+00\t\\N\t\\N\n');
  });
});

describe('newColumnsFor', () => {
  const m = model('addColumns');

  test('types from JSON values only: numbers (integral too) are double precision', () => {
    expect(
      newColumnsFor(m, [
        { time: 1, v: 1, n: 3, f: 0.5, s: '2026-01-01T00:00:00Z', b: false, o: { a: 1 }, a: [1], z: null },
        { time: 2, n: 4, big: 5n, at: new Micros(1) },
      ]),
    ).toEqual([
      { name: 'n', type: 'double precision' },
      { name: 'f', type: 'double precision' },
      { name: 's', type: 'text' },
      { name: 'b', type: 'boolean' },
      { name: 'o', type: 'jsonb' },
      { name: 'a', type: 'jsonb' },
      { name: 'big', type: 'bigint' },
      { name: 'at', type: 'timestamptz' },
    ]);
  });

  test.each([
    ['CPU', 'row 2: field "CPU" cannot become a column of table t: it is not a valid column name'],
    ['cpu-temp', 'is not a valid column name'],
    ['select', 'reserved PostgreSQL keyword'],
    ['_strata_gen', 'reserved for Strata'],
    ['x'.repeat(64), 'longer than 63 characters'],
  ])('a field named %j is refused, named', (name, message) => {
    const run = () => newColumnsFor(m, [{ time: 1 }, { time: 2, [name]: 1 }]);
    expect(run).toThrow(BadRequestError);
    expect(run).toThrow(message);
  });

  test('rows disagreeing on a new field’s type are refused', () => {
    expect(() => newColumnsFor(m, [{ time: 1, x: 1 }, { time: 2, x: 'one' }])).toThrow('(row 1: double precision, row 2: text)');
  });
});
