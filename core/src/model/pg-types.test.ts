import { normalizePgType, parsePgType, PG_TYPE_PATTERN, TIME_PG_TYPE_PATTERN, NUMERIC_PG_TYPE_PATTERN, UnsupportedPgTypeError } from './pg-types';

describe('parsePgType: accepted spellings', () => {
  test.each([
    ['timestamptz', { kind: 'timestamptz', pgName: 'timestamp with time zone' }],
    ['timestamp with time zone', { kind: 'timestamptz', pgName: 'timestamp with time zone' }],
    ['TIMESTAMP  WITH TIME ZONE', { kind: 'timestamptz', pgName: 'timestamp with time zone' }],
    ['timestamp', { kind: 'timestamp', pgName: 'timestamp without time zone' }],
    ['timestamp without time zone', { kind: 'timestamp', pgName: 'timestamp without time zone' }],
    ['text', { kind: 'text', pgName: 'text' }],
    ['varchar', { kind: 'varchar', pgName: 'character varying' }],
    ['varchar(20)', { kind: 'varchar', length: 20, pgName: 'character varying(20)' }],
    ['character varying (255)', { kind: 'varchar', length: 255, pgName: 'character varying(255)' }],
    ['double precision', { kind: 'float8', pgName: 'double precision' }],
    ['float8', { kind: 'float8', pgName: 'double precision' }],
    ['real', { kind: 'float4', pgName: 'real' }],
    ['float4', { kind: 'float4', pgName: 'real' }],
    ['bigint', { kind: 'int8', pgName: 'bigint' }],
    ['int8', { kind: 'int8', pgName: 'bigint' }],
    ['integer', { kind: 'int4', pgName: 'integer' }],
    ['int', { kind: 'int4', pgName: 'integer' }],
    ['int4', { kind: 'int4', pgName: 'integer' }],
    ['smallint', { kind: 'int2', pgName: 'smallint' }],
    ['int2', { kind: 'int2', pgName: 'smallint' }],
    ['boolean', { kind: 'bool', pgName: 'boolean' }],
    ['bool', { kind: 'bool', pgName: 'boolean' }],
    ['numeric(12,3)', { kind: 'numeric', precision: 12, scale: 3, pgName: 'numeric(12,3)' }],
    ['numeric( 20 , 4 )', { kind: 'numeric', precision: 20, scale: 4, pgName: 'numeric(20,4)' }],
    ['numeric(10)', { kind: 'numeric', precision: 10, scale: 0, pgName: 'numeric(10,0)' }],
    ['decimal(76,76)', { kind: 'numeric', precision: 76, scale: 76, pgName: 'numeric(76,76)' }],
    ['date', { kind: 'date', pgName: 'date' }],
    ['uuid', { kind: 'uuid', pgName: 'uuid' }],
    ['jsonb', { kind: 'jsonb', pgName: 'jsonb' }],
    [' JSONB ', { kind: 'jsonb', pgName: 'jsonb' }],
  ])('%j', (spelling, expected) => {
    expect(parsePgType(spelling)).toEqual({ ok: true, type: expected });
    expect(normalizePgType(spelling)).toEqual(expected);
  });
});

describe('parsePgType: refused, with the reason', () => {
  test.each([
    ['numeric', 'use numeric(p,s) with p ≤ 76'],
    ['NUMERIC', 'ClickHouse needs a fixed precision'],
    ['decimal', 'use numeric(p,s) with p ≤ 76'],
    ['numeric(77,2)', 'between 1 and 76'],
    ['numeric(0)', 'between 1 and 76'],
    ['numeric(5,6)', 'scale 6 is larger than its precision 5'],
    ['json', 'use jsonb'],
    ['varchar(0)', 'varchar length must be between 1'],
    ['money', 'unsupported type "money"; supported types are timestamptz, timestamp, text'],
    ['text[]', 'supported types are'],
    ['timestamptz(3)', 'supported types are'],
    ['char(3)', 'supported types are'],
    ['', 'supported types are'],
  ])('%j: %s', (spelling, fragment) => {
    const r = parsePgType(spelling);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(fragment);
    expect(() => normalizePgType(spelling)).toThrow(UnsupportedPgTypeError);
  });
});

// The CRD's CEL rules use these patterns on the lower-cased spelling; the CLI uses
// parsePgType. They must agree on shape (ranges such as p ≤ 76 are parsePgType's alone).
describe('patterns for CEL agree with parsePgType', () => {
  const spellings = [
    'timestamptz', 'Timestamp With Time Zone', 'timestamp', 'timestamp without time zone', 'text', 'varchar', 'varchar(3)',
    'character varying ( 9 )', 'double precision', 'double  precision', 'float8', 'float', 'real', 'float4', 'bigint', 'int8',
    'integer', 'int', 'int4', 'smallint', 'int2', 'boolean', 'bool', 'numeric(3,1)', 'numeric( 3 )', 'decimal(4,2)', 'date',
    'uuid', 'jsonb', ' jsonb ', 'numeric', 'json', 'money', 'text[]', 'timestamptz(3)', 'int16', 'varchar()', 'integerx', 'xtext',
  ];
  test.each(spellings)('%j', (s) => {
    const accepted = new RegExp(PG_TYPE_PATTERN).test(s.toLowerCase());
    const r = parsePgType(s);
    expect(accepted).toBe(r.ok);
    if (r.ok) {
      expect(new RegExp(TIME_PG_TYPE_PATTERN).test(s.toLowerCase())).toBe(r.type.kind === 'timestamptz' || r.type.kind === 'timestamp');
      expect(new RegExp(NUMERIC_PG_TYPE_PATTERN).test(s.toLowerCase())).toBe(['float8', 'float4', 'int8', 'int4', 'int2', 'numeric'].includes(r.type.kind));
    }
  });
});
