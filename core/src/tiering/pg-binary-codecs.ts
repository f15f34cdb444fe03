import type { PgType } from '../model/pg-types';
import { digest64 } from './row-checksum';
import type { ByteWriter } from './byte-writer';

/**
 * Per-type handling of one PostgreSQL binary COPY field: write it as a ClickHouse
 * TabSeparated value, and reduce it to the 32-bit digest row-checksum.ts defines.
 * Binary COPY formats: PostgreSQL's *_send functions (src/backend/utils/adt/).
 */
export interface FieldCodec {
  writeTsv(buf: Buffer, off: number, len: number, out: ByteWriter): void;
  digest(buf: Buffer, off: number, len: number): number;
}

export type Hash32 = (bytes: Uint8Array) => number;

const PG_EPOCH_US = 946_684_800_000_000; // 2000-01-01 in Unix microseconds
const PG_EPOCH_DAYS = 10_957;
const TWO32 = 4_294_967_296;
const UNIX_TEN_DIGITS = 1_000_000_000; // 2001-09-09 01:46:40 UTC
// DateTime64(6) holds 1900-01-01 .. 2299-12-31, and microseconds stay exact in a JS
// number up to 2^53 (2255-06-05); outside that a move would corrupt the value.
const MIN_US = -2_208_988_800_000_000;
const MAX_US = Number.MAX_SAFE_INTEGER;

export class UnrepresentableValueError extends Error {
  readonly code = 'UNREPRESENTABLE_VALUE' as const;
}

function readEpochMicros(buf: Buffer, off: number): number {
  const us = buf.readInt32BE(off) * TWO32 + buf.readUInt32BE(off + 4) + PG_EPOCH_US;
  if (!(us >= MIN_US && us <= MAX_US)) {
    throw new UnrepresentableValueError('a timestamp outside 1900-01-01..2255-06-05 (or ±infinity) cannot be moved to ClickHouse DateTime64 exactly');
  }
  return us;
}

function split(us: number): [number, number] {
  const hi = Math.floor(us / TWO32);
  return [hi >>> 0, (us - hi * TWO32) >>> 0];
}

const timestampCodec: FieldCodec = {
  writeTsv(buf, off, _len, out) {
    const us = readEpochMicros(buf, off);
    const sec = Math.floor(us / 1e6);
    const frac = us - sec * 1e6;
    // ClickHouse reads a Unix time of ten digits as DateTime64 text (CANNOT_PARSE_DATETIME
    // for fewer, and a leading '-' it takes for a zone offset), so times before
    // 2001-09-09 01:46:40 go as 'YYYY-MM-DD hh:mm:ss'; the common case stays a number.
    const whole = sec >= UNIX_TEN_DIGITS ? String(sec) : new Date(sec * 1000).toISOString().slice(0, 19).replace('T', ' ');
    out.ascii(frac === 0 ? whole : whole + '.' + String(frac).padStart(6, '0'));
  },
  digest(buf, off) {
    const [hi, lo] = split(readEpochMicros(buf, off));
    return digest64(hi, lo);
  },
};

function floatText(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v === 0 && 1 / v < 0) return '-0';
  return String(v);
}

const float8Codec: FieldCodec = {
  writeTsv(buf, off, _len, out) {
    out.ascii(floatText(buf.readDoubleBE(off)));
  },
  digest(buf, off) {
    return digest64(buf.readUInt32BE(off), buf.readUInt32BE(off + 4));
  },
};

const float4Codec: FieldCodec = {
  writeTsv(buf, off, _len, out) {
    out.ascii(floatText(buf.readFloatBE(off)));
  },
  digest(buf, off) {
    return buf.readUInt32BE(off);
  },
};

const int8Codec: FieldCodec = {
  writeTsv(buf, off, _len, out) {
    out.ascii(buf.readBigInt64BE(off).toString());
  },
  digest(buf, off) {
    return digest64(buf.readUInt32BE(off), buf.readUInt32BE(off + 4));
  },
};

const int4Codec: FieldCodec = {
  writeTsv(buf, off, _len, out) {
    out.ascii(String(buf.readInt32BE(off)));
  },
  digest(buf, off) {
    return buf.readUInt32BE(off);
  },
};

const int2Codec: FieldCodec = {
  writeTsv(buf, off, _len, out) {
    out.ascii(String(buf.readInt16BE(off)));
  },
  digest(buf, off) {
    return buf.readInt16BE(off) >>> 0;
  },
};

const boolCodec: FieldCodec = {
  writeTsv(buf, off, _len, out) {
    out.ascii(buf[off] ? 'true' : 'false');
  },
  digest(buf, off) {
    return buf[off] ? 1 : 0;
  },
};

const dateCodec: FieldCodec = {
  writeTsv(buf, off, _len, out) {
    const days = buf.readInt32BE(off) + PG_EPOCH_DAYS;
    out.ascii(new Date(days * 86_400_000).toISOString().slice(0, 10));
  },
  digest(buf, off) {
    return (buf.readInt32BE(off) + PG_EPOCH_DAYS) >>> 0;
  },
};

function textCodec(hash: Hash32, skip: number): FieldCodec {
  return {
    writeTsv(buf, off, len, out) {
      out.tsvEscaped(buf, off + skip, off + len);
    },
    digest(buf, off, len) {
      return hash(buf.subarray(off + skip, off + len));
    },
  };
}

const HEX = '0123456789abcdef';
function uuidText(buf: Buffer, off: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[buf[off + i] >> 4] + HEX[buf[off + i] & 15];
  }
  return s;
}

/** numeric_send: ndigits, weight, sign, dscale, then base-10000 digits. */
export function numericText(buf: Buffer, off: number): string {
  const ndigits = buf.readInt16BE(off);
  const weight = buf.readInt16BE(off + 2);
  const sign = buf.readUInt16BE(off + 4);
  const dscale = buf.readInt16BE(off + 6);
  if (sign === 0xc000 || sign === 0xd000 || sign === 0xf000) {
    throw new UnrepresentableValueError('numeric NaN and ±Infinity cannot be stored in ClickHouse Decimal');
  }
  let int = '';
  let frac = '';
  for (let i = 0; i < ndigits; i++) {
    const d = String(buf.readInt16BE(off + 8 + i * 2)).padStart(4, '0');
    if (i <= weight) int += d;
    else frac += d;
  }
  if (weight >= ndigits) int += '0000'.repeat(weight - ndigits + 1);
  if (weight < -1) frac = '0000'.repeat(-weight - 1) + frac;
  int = int.replace(/^0+/, '') || '0';
  frac = frac.padEnd(dscale, '0').slice(0, dscale);
  const body = dscale > 0 ? `${int}.${frac}` : int;
  return sign === 0x4000 && /[1-9]/.test(body) ? '-' + body : body;
}

/** ClickHouse prints Decimals without trailing fractional zeros; digest that form. */
function trimDecimal(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

export function codecFor(pg: PgType, hash: Hash32): FieldCodec {
  const te = new TextEncoder();
  switch (pg.kind) {
    case 'timestamptz':
    case 'timestamp':
      return timestampCodec;
    case 'float8':
      return float8Codec;
    case 'float4':
      return float4Codec;
    case 'int8':
      return int8Codec;
    case 'int4':
      return int4Codec;
    case 'int2':
      return int2Codec;
    case 'bool':
      return boolCodec;
    case 'date':
      return dateCodec;
    case 'text':
    case 'varchar':
      return textCodec(hash, 0);
    case 'jsonb':
      // jsonb_send: a version byte (1), then the canonical jsonb text.
      return textCodec(hash, 1);
    case 'numeric':
      return {
        writeTsv: (buf, off, _len, out) => out.ascii(numericText(buf, off)),
        digest: (buf, off) => hash(te.encode(trimDecimal(numericText(buf, off)))),
      };
    case 'uuid':
      return {
        writeTsv: (buf, off, _len, out) => out.ascii(uuidText(buf, off)),
        digest: (buf, off) => hash(te.encode(uuidText(buf, off))),
      };
  }
}
