/**
 * A growable output buffer for the PostgreSQL → ClickHouse row conversion: one
 * allocation reused across batches, so the hot loop writes bytes, not strings.
 */
export class ByteWriter {
  private buf: Buffer;
  length = 0;

  constructor(initialSize = 1 << 20) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b;
  }

  /** ASCII-only text (numbers, dates, keywords). */
  ascii(s: string): void {
    this.ensure(s.length);
    this.length += this.buf.write(s, this.length, 'latin1');
  }

  bytes(src: Buffer, start: number, end: number): void {
    this.ensure(end - start);
    this.length += src.copy(this.buf, this.length, start, end);
  }

  /** Copies src[start,end) escaping what TabSeparated must: backslash, tab, newline, CR. */
  tsvEscaped(src: Buffer, start: number, end: number): void {
    let from = start;
    for (let i = start; i < end; i++) {
      const c = src[i];
      if (c !== 0x5c && c !== 0x09 && c !== 0x0a && c !== 0x0d) continue;
      this.bytes(src, from, i);
      this.ensure(2);
      this.buf[this.length++] = 0x5c;
      this.buf[this.length++] = c === 0x5c ? 0x5c : c === 0x09 ? 0x74 : c === 0x0a ? 0x6e : 0x72;
      from = i + 1;
    }
    this.bytes(src, from, end);
  }

  /** The bytes written since the last take, copied out; the writer is reset. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.length));
    this.length = 0;
    return out;
  }
}
