import type { TieredColumn } from '../ddl/column-types';
import { chIdent } from '../ddl/sql';

/**
 * An order-independent checksum of a set of rows that both sides can compute on
 * their own representation: the tierer over the binary COPY bytes PostgreSQL sent,
 * ClickHouse in SQL over the rows it stored. Each column value is reduced to a
 * 32-bit digest of its exact value (bit patterns for numbers, xxHash32 for text),
 * the digests of a row are mixed non-linearly (murmur3's fmix32, so values swapped
 * between rows change the sum), and the row hashes are summed mod 2^32 twice with
 * different seeds: 64 bits in all, plus the row count.
 */

export const NULL_DIGEST = 0x9e3779b9;
const SEED_B = 0x85ebca77;

export function columnWeight(i: number): number {
  return (Math.imul(2 * i + 1, 0x9e3779b1) | 1) >>> 0;
}

export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 64-bit value given as two 32-bit halves → one 32-bit digest. */
export function digest64(hi: number, lo: number): number {
  return (lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
}

export interface Checksum {
  rows: number;
  sumA: number;
  sumB: number;
}

export class ChecksumAccumulator implements Checksum {
  rows = 0;
  sumA = 0;
  sumB = 0;
  /** Adds one row given the mixed digest S = Σ digest_i · weight_i (mod 2^32). */
  addRow(s: number): void {
    this.rows++;
    this.sumA = (this.sumA + fmix32(s)) >>> 0;
    this.sumB = (this.sumB + fmix32((s ^ SEED_B) >>> 0)) >>> 0;
  }
}

export function sameChecksum(a: Checksum, b: Checksum): boolean {
  return a.rows === b.rows && a.sumA === b.sumA && a.sumB === b.sumB;
}

export function formatChecksum(c: Checksum): string {
  return `${c.rows} rows, ${c.sumA.toString(16).padStart(8, '0')}${c.sumB.toString(16).padStart(8, '0')}`;
}

/** The ClickHouse expression of one column's digest; must match the codec in pg-binary-codecs.ts. */
function chDigest(c: TieredColumn): string {
  const v = c.notNull ? chIdent(c.name) : `assumeNotNull(${chIdent(c.name)})`;
  const split64 = (x: string) =>
    `bitAnd(bitXor(bitAnd(${x}, 4294967295), bitShiftRight(${x}, 32) * 2654435761), 4294967295)`;
  let d: string;
  switch (c.pg.kind) {
    case 'timestamptz':
    case 'timestamp':
      d = split64(`reinterpretAsUInt64(toUnixTimestamp64Micro(${v}))`);
      break;
    case 'float8':
    case 'int8':
      d = split64(`reinterpretAsUInt64(${v})`);
      break;
    case 'float4':
      d = `toUInt64(reinterpretAsUInt32(${v}))`;
      break;
    case 'int4':
      d = `toUInt64(reinterpretAsUInt32(${v}))`;
      break;
    case 'int2':
      d = `toUInt64(reinterpretAsUInt32(toInt32(${v})))`;
      break;
    case 'date':
      d = `toUInt64(reinterpretAsUInt32(toInt32(${v})))`;
      break;
    case 'bool':
      d = `toUInt64(toUInt8(${v}))`;
      break;
    case 'text':
    case 'varchar':
    case 'jsonb':
      d = `toUInt64(xxHash32(${v}))`;
      break;
    case 'numeric':
    case 'uuid':
      d = `toUInt64(xxHash32(toString(${v})))`;
      break;
  }
  return c.notNull ? d : `if(isNull(${chIdent(c.name)}), ${NULL_DIGEST}, ${d})`;
}

/**
 * SELECT computing {rows, sum_a, sum_b} over `fromWhere` (e.g. "`db`.`t` WHERE ...").
 * Numbers come back as strings (JSON 64-bit quoting) and are parsed by the caller.
 */
export function chChecksumSql(columns: TieredColumn[], fromWhere: string): string {
  const s = columns.map((c, i) => `(${chDigest(c)}) * ${columnWeight(i)}`).join(' + ');
  const mix = (p: string, input: string) =>
    [
      `bitXor(${input}, bitShiftRight(${input}, 16)) AS ${p}1`,
      `bitAnd(${p}1 * 2246822507, 4294967295) AS ${p}2`,
      `bitXor(${p}2, bitShiftRight(${p}2, 13)) AS ${p}3`,
      `bitAnd(${p}3 * 3266489909, 4294967295) AS ${p}4`,
      `bitXor(${p}4, bitShiftRight(${p}4, 16)) AS ${p}h`,
    ].join(', ');
  return (
    `SELECT count() AS rows, sum(__ck_ah) % 4294967296 AS sum_a, sum(__ck_bh) % 4294967296 AS sum_b FROM (` +
    `SELECT toUInt64(bitAnd(${s || '0'}, 4294967295)) AS __ck_s, ${mix('__ck_a', '__ck_s')}, ` +
    `bitXor(__ck_s, ${SEED_B}) AS __ck_t, ${mix('__ck_b', '__ck_t')} FROM ${fromWhere})`
  );
}

export function parseChChecksum(row: { rows: string | number; sum_a: string | number; sum_b: string | number }): Checksum {
  return { rows: Number(row.rows), sumA: Number(row.sum_a), sumB: Number(row.sum_b) };
}
