/**
 * Text ⇄ binary for the types the engine returns when a client asks for binary
 * results, and binary → text for parameters a client sends in binary (the engine takes
 * text). Formats are PostgreSQL's send/recv functions (src/backend/utils/adt).
 */
export const Oid = {
  bool: 16,
  bytea: 17,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  unknown: 705,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

export class UnsupportedBinaryTypeError extends Error {
  readonly code = 'unsupported_binary_type';
  readonly sqlState = '0A000';
  constructor(readonly oid: number) {
    super(`binary format for type oid ${oid} is not supported by the proxy`);
  }
}

const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1);
const MICROS_PER_DAY = 86400000000n;
const INT64_MAX = 0x7fffffffffffffffn;
const INT64_MIN = -0x8000000000000000n;

function floatText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return String(value);
}

function parseFloatText(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === 'nan') return NaN;
  if (t === 'infinity' || t === '+infinity' || t === 'inf') return Infinity;
  if (t === '-infinity' || t === '-inf') return -Infinity;
  return Number(text);
}

/** PostgreSQL timestamp text (ISO, optional fraction and UTC offset) → µs since 2000-01-01. */
export function timestampMicros(text: string): bigint {
  if (text === 'infinity') return INT64_MAX;
  if (text === '-infinity') return INT64_MIN;
  const m = /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6})\d*)?(?:\s*(Z|[+-]\d\d(?::?\d\d(?::?\d\d)?)?))?( BC)?$/.exec(text.trim());
  if (!m) throw new RangeError(`invalid timestamp text`);
  let year = Number(m[1]);
  if (m[9]) year = 1 - year;
  const ms = Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  let micros = BigInt(ms - POSTGRES_EPOCH_MS) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0') || '0');
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(/:/g, '');
    const seconds = Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2, 4) || '0') * 60 + Number(digits.slice(4, 6) || '0');
    micros -= BigInt(sign * seconds) * 1000000n;
  }
  return micros;
}

export function timestampText(micros: bigint, withZone: boolean): string {
  if (micros === INT64_MAX) return 'infinity';
  if (micros === INT64_MIN) return '-infinity';
  let ms = micros / 1000n;
  let frac = micros % 1000000n;
  if (frac < 0n) {
    frac += 1000000n;
  }
  if (micros % 1000n < 0n) ms -= 1n;
  const date = new Date(POSTGRES_EPOCH_MS + Number(ms));
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const fracText = frac === 0n ? '' : `.${frac.toString().padStart(6, '0').replace(/0+$/, '')}`;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fracText}${withZone ? '+00' : ''}`;
}

function numericBinary(text: string): Buffer {
  const t = text.trim();
  if (t.toLowerCase() === 'nan') return Buffer.from([0, 0, 0, 0, 0xc0, 0, 0, 0]);
  const m = /^([+-])?(\d*)(?:\.(\d*))?$/.exec(t);
  if (!m) throw new RangeError('invalid numeric text');
  const negative = m[1] === '-';
  const intPart = (m[2] || '0').replace(/^0+(?=\d)/, '');
  const fracPart = m[3] ?? '';
  const dscale = fracPart.length;
  const intPadded = intPart.padStart(Math.ceil(intPart.length / 4) * 4, '0');
  const fracPadded = fracPart.padEnd(Math.ceil(fracPart.length / 4) * 4, '0');
  let digits: number[] = [];
  for (let i = 0; i < intPadded.length; i += 4) digits.push(Number(intPadded.slice(i, i + 4)));
  let weight = digits.length - 1;
  for (let i = 0; i < fracPadded.length; i += 4) digits.push(Number(fracPadded.slice(i, i + 4)));
  while (digits.length && digits[0] === 0) {
    digits.shift();
    weight--;
  }
  while (digits.length && digits[digits.length - 1] === 0) digits.pop();
  if (digits.length === 0) weight = 0;
  digits = digits.length ? digits : [];
  const out = Buffer.alloc(8 + digits.length * 2);
  out.writeInt16BE(digits.length, 0);
  out.writeInt16BE(weight, 2);
  out.writeUInt16BE(negative && digits.length ? 0x4000 : 0, 4);
  out.writeInt16BE(dscale, 6);
  digits.forEach((d, i) => out.writeInt16BE(d, 8 + i * 2));
  return out;
}

function numericText(bytes: Buffer): string {
  const ndigits = bytes.readInt16BE(0);
  const weight = bytes.readInt16BE(2);
  const sign = bytes.readUInt16BE(4);
  const dscale = bytes.readInt16BE(6);
  if (sign === 0xc000) return 'NaN';
  if (sign === 0xd000) return 'Infinity';
  if (sign === 0xf000) return '-Infinity';
  const digit = (i: number) => (i >= 0 && i < ndigits ? bytes.readInt16BE(8 + i * 2) : 0);
  let intText = '';
  for (let i = 0; i <= weight; i++) intText += i === 0 ? String(digit(i)) : String(digit(i)).padStart(4, '0');
  if (intText === '') intText = '0';
  let fracText = '';
  for (let i = weight + 1; fracText.length < dscale; i++) fracText += String(digit(i)).padStart(4, '0');
  fracText = fracText.slice(0, dscale);
  return `${sign === 0x4000 ? '-' : ''}${intText}${dscale > 0 ? `.${fracText}` : ''}`;
}

/** One text value as the binary a client asked for. */
export function textToBinary(oid: number, text: string): Buffer {
  switch (oid) {
    case Oid.bool:
      return Buffer.from([text === 't' || text === 'true' ? 1 : 0]);
    case Oid.int2: {
      const b = Buffer.allocUnsafe(2);
      b.writeInt16BE(Number(text));
      return b;
    }
    case Oid.int4:
    case Oid.oid: {
      const b = Buffer.allocUnsafe(4);
      if (oid === Oid.oid) b.writeUInt32BE(Number(text));
      else b.writeInt32BE(Number(text));
      return b;
    }
    case Oid.int8: {
      const b = Buffer.allocUnsafe(8);
      b.writeBigInt64BE(BigInt(text));
      return b;
    }
    case Oid.float4: {
      const b = Buffer.allocUnsafe(4);
      b.writeFloatBE(parseFloatText(text));
      return b;
    }
    case Oid.float8: {
      const b = Buffer.allocUnsafe(8);
      b.writeDoubleBE(parseFloatText(text));
      return b;
    }
    case Oid.text:
    case Oid.varchar:
    case Oid.bpchar:
    case Oid.name:
    case Oid.unknown:
    case Oid.json:
      return Buffer.from(text, 'utf8');
    case Oid.jsonb:
      return Buffer.concat([Buffer.from([1]), Buffer.from(text, 'utf8')]);
    case Oid.timestamp:
    case Oid.timestamptz: {
      const b = Buffer.allocUnsafe(8);
      b.writeBigInt64BE(timestampMicros(text));
      return b;
    }
    case Oid.date: {
      const b = Buffer.allocUnsafe(4);
      b.writeInt32BE(Number(timestampMicros(`${text} 00:00:00`) / MICROS_PER_DAY));
      return b;
    }
    case Oid.numeric:
      return numericBinary(text);
    case Oid.uuid:
      return Buffer.from(text.replace(/-/g, ''), 'hex');
    case Oid.bytea:
      return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex') : Buffer.from(text, 'utf8');
    default:
      throw new UnsupportedBinaryTypeError(oid);
  }
}

/** One binary parameter as PostgreSQL's text form. */
export function binaryToText(oid: number, bytes: Buffer): string {
  switch (oid) {
    case Oid.bool:
      return bytes[0] ? 't' : 'f';
    case Oid.int2:
      return String(bytes.readInt16BE(0));
    case Oid.int4:
      return String(bytes.readInt32BE(0));
    case Oid.oid:
      return String(bytes.readUInt32BE(0));
    case Oid.int8:
      return bytes.readBigInt64BE(0).toString();
    case Oid.float4:
      return floatText(bytes.readFloatBE(0));
    case Oid.float8:
      return floatText(bytes.readDoubleBE(0));
    case Oid.text:
    case Oid.varchar:
    case Oid.bpchar:
    case Oid.name:
    case Oid.unknown:
    case Oid.json:
    case 0:
      return bytes.toString('utf8');
    case Oid.jsonb:
      return bytes.subarray(1).toString('utf8');
    case Oid.timestamp:
      return timestampText(bytes.readBigInt64BE(0), false);
    case Oid.timestamptz:
      return timestampText(bytes.readBigInt64BE(0), true);
    case Oid.date:
      return timestampText(BigInt(bytes.readInt32BE(0)) * MICROS_PER_DAY, false).slice(0, 10);
    case Oid.numeric:
      return numericText(bytes);
    case Oid.uuid: {
      const h = bytes.toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    case Oid.bytea:
      return `\\x${bytes.toString('hex')}`;
    default:
      throw new UnsupportedBinaryTypeError(oid);
  }
}
