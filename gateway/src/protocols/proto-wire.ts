import { isUtf8 } from 'node:buffer';

/**
 * A minimal protobuf wire-format reader for hand-written hot paths (otlp-metrics-copy.ts).
 * Anything it does not read exactly as protobufjs would — groups, truncation, lengths past
 * the message, invalid UTF-8 in a string — throws WireBail, and the caller falls back to
 * protobufjs, which also words the error.
 */
export class WireBail extends Error {}
const BAIL = new WireBail('unsupported protobuf input for the fast path');

export const WIRE = { varint: 0, i64: 1, len: 2, i32: 5 } as const;

export class WireReader {
  pos: number;

  constructor(
    public buf: Buffer,
    start = 0,
    public end = buf.length,
  ) {
    this.pos = start;
  }

  /** Points `child` at the length-delimited field here (a reused reader: no allocation per field). */
  enter(child: WireReader): void {
    const n = this.varint32();
    const start = this.pos;
    if (start + n > this.end) throw BAIL;
    this.pos = start + n;
    child.buf = this.buf;
    child.pos = start;
    child.end = start + n;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Field number and wire type of the tag last read by next(). */
  field = 0;
  wire = 0;

  /** Reads the next field's tag into `field` and `wire` (no allocation: this runs per field). */
  next(): void {
    const t = this.varint32();
    this.field = t >>> 3;
    this.wire = t & 7;
    if (this.field === 0) throw BAIL;
  }

  /** A varint that fits 32 bits (tags, lengths, enums, bools). */
  varint32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw BAIL;
      const b = this.buf[this.pos++];
      if (shift === 28 && b > 0x0f) throw BAIL;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result >>> 0;
      shift += 7;
    }
  }

  /** An int64 varint as a number when it is a safe integer (else bail). */
  int64(): number {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw BAIL;
      const b = this.buf[this.pos++];
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      if (b < 0x80) {
        const n = (hi | 0) * 4294967296 + (lo >>> 0);
        if (!Number.isSafeInteger(n)) throw BAIL;
        return n;
      }
      shift += 7;
    }
    throw BAIL;
  }

  /** The two unsigned 32-bit halves of the fixed64 last read by fixed64(). */
  low = 0;
  high = 0;

  /** Reads a fixed64 into `low` and `high`. */
  fixed64(): void {
    if (this.pos + 8 > this.end) throw BAIL;
    this.low = this.buf.readUInt32LE(this.pos);
    this.high = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw BAIL;
    const d = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return d;
  }

  /** A length-delimited field's [start, end). */
  span(): [number, number] {
    const n = this.varint32();
    const start = this.pos;
    if (start + n > this.end) throw BAIL;
    this.pos = start + n;
    return [start, start + n];
  }

  /** A UTF-8 string field. Short ASCII text (attribute keys and values) skips the UTF-8 decoder. */
  string(): string {
    const [start, end] = this.span();
    const buf = this.buf;
    if (end - start <= 32) {
      let ascii = true;
      for (let i = start; i < end; i++) {
        if (buf[i] >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) return buf.toString('latin1', start, end);
    }
    const bytes = buf.subarray(start, end);
    if (!isUtf8(bytes)) throw BAIL;
    return bytes.toString('utf8');
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE.varint:
        this.int64Skip();
        return;
      case WIRE.i64:
        if (this.pos + 8 > this.end) throw BAIL;
        this.pos += 8;
        return;
      case WIRE.len:
        this.span();
        return;
      case WIRE.i32:
        if (this.pos + 4 > this.end) throw BAIL;
        this.pos += 4;
        return;
      default:
        throw BAIL;
    }
  }

  private int64Skip(): void {
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw BAIL;
      if (this.buf[this.pos++] < 0x80) return;
    }
    throw BAIL;
  }
}

export function bail(): never {
  throw BAIL;
}
