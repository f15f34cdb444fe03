import { chIdent, chQualified } from '../ddl/sql';
import { ColdStoreError } from './cold-store';
import { clickhouseErrorOf, plainInsertTarget, toEmbeddedColdStoreError } from './embedded-cold-store';

describe('plainInsertTarget', () => {
  test.each([
    [chQualified('strata', 'events_raw'), ['ts', 'value'], { table: 'strata.events_raw', columns: ['ts', 'value'] }],
    [chIdent('events'), ['a'], { table: 'events', columns: ['a'] }],
    ['strata.events', ['a'], { table: 'strata.events', columns: ['a'] }],
    ['events', ['a'], { table: 'events', columns: ['a'] }],
    // Names chDB's insert API refuses: the store falls back to an inline INSERT.
    [chQualified('strata', 'my-table'), ['a'], undefined],
    [chQualified('strata', 'a`b'), ['a'], undefined],
    [chQualified('strata', 'events'), ['service.name'], undefined],
    [chQualified('strata', 'events'), [], undefined],
    ['`strata`.`events`; DROP TABLE x', ['a'], undefined],
    ['a.b.c', ['a'], undefined],
  ])('%s (%j) → %j', (table, columns, expected) => {
    expect(plainInsertTarget(table, columns)).toEqual(expected);
  });
});

describe('clickhouseErrorOf / toEmbeddedColdStoreError', () => {
  test('takes the code chDB typed, or parses it and the exception name from the text', () => {
    const typed = Object.assign(new Error('Code: 60. DB::Exception: Table d.t does not exist. (UNKNOWN_TABLE)'), { clickhouseCode: 60 });
    expect(clickhouseErrorOf(typed)).toEqual({ code: 60, name: 'UNKNOWN_TABLE' });
    const untyped = new Error('Code: 62. DB::Exception: Syntax error: failed at position 7 (1): 1. Expected one of: X. (SYNTAX_ERROR)');
    expect(clickhouseErrorOf(untyped)).toEqual({ code: 62, name: 'SYNTAX_ERROR' });
    expect(clickhouseErrorOf(new Error('no code here'))).toBeUndefined();
  });

  test('messages carry the exception name and code, not the text that can quote SQL', () => {
    const cause = Object.assign(new Error("Code: 60. DB::Exception: Unknown table 'secret' in scope SELECT secret. (UNKNOWN_TABLE)"), { clickhouseCode: 60 });
    const err = toEmbeddedColdStoreError(cause, 'query');
    expect(err).toBeInstanceOf(ColdStoreError);
    expect(err.message).toBe('ClickHouse (embedded) query failed: UNKNOWN_TABLE (code 60)');
    expect(err.clickhouseCode).toBe(60);
    expect(err.cause).toBe(cause);
  });

  test('chDB errors without a ClickHouse code are named by class, not by their text', () => {
    class ChdbBindError extends Error {
      readonly code = 'CHDB_BIND';
    }
    const err = toEmbeddedColdStoreError(Object.assign(new ChdbBindError('Refusing to serialize unsafe integer 9007199254740993'), { name: 'ChdbBindError' }), 'query');
    expect(err.message).toBe('ClickHouse (embedded) query failed: ChdbBindError CHDB_BIND');
    expect(err.clickhouseCode).toBeUndefined();
  });
});
