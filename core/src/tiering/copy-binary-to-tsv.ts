import { ByteWriter } from './byte-writer';
import type { FieldCodec } from './pg-binary-codecs';
import { ChecksumAccumulator, columnWeight, NULL_DIGEST } from './row-checksum';

/**
 * Incremental parser of PostgreSQL's binary COPY stream (docs: "COPY — Binary
 * Format") that re-emits every row as a ClickHouse TabSeparated line, appends a
 * constant suffix (the run's generation), and checksums the rows as it goes.
 * Chunks may split anywhere: an incomplete row stays in `pending` until the next one.
 */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

export class CopyFormatError extends Error {
  readonly code = 'COPY_FORMAT' as const;
}

export class CopyBinaryToTsv {
  readonly checksum = new ChecksumAccumulator();
  readonly out = new ByteWriter();
  /** Rows written to `out` since the last takeBatch(). */
  rowsInBatch = 0;
  bytesIn = 0;
  private pending: Buffer | null = null;
  private headerDone = false;
  private finished = false;
  private readonly weights: number[];

  constructor(
    private readonly codecs: FieldCodec[],
    private readonly lineSuffix: Buffer,
  ) {
    this.weights = codecs.map((_, i) => columnWeight(i));
  }

  get done(): boolean {
    return this.finished;
  }

  write(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let off = 0;
    if (!this.headerDone) {
      if (buf.length < 19) {
        this.pending = buf;
        return;
      }
      if (!buf.subarray(0, 11).equals(SIGNATURE)) throw new CopyFormatError('not a binary COPY stream (bad signature)');
      const extLen = buf.readUInt32BE(15);
      if (buf.length < 19 + extLen) {
        this.pending = buf;
        return;
      }
      off = 19 + extLen;
      this.headerDone = true;
    }
    off = this.rows(buf, off);
    if (off < buf.length) {
      if (this.finished) throw new CopyFormatError('data after the COPY trailer');
      this.pending = buf.subarray(off);
    }
  }

  /** Parses whole rows from buf[off..]; returns the offset of the first unparsed byte. */
  private rows(buf: Buffer, off: number): number {
    const n = this.codecs.length;
    const codecs = this.codecs;
    const weights = this.weights;
    const out = this.out;
    while (off + 2 <= buf.length) {
      const fields = buf.readInt16BE(off);
      if (fields === -1) {
        this.finished = true;
        return off + 2;
      }
      if (fields !== n) throw new CopyFormatError(`row has ${fields} fields, expected ${n}`);
      // First pass: is the whole row here? Avoids writing half a row to `out`.
      let p = off + 2;
      let complete = true;
      for (let i = 0; i < n; i++) {
        if (p + 4 > buf.length) {
          complete = false;
          break;
        }
        const len = buf.readInt32BE(p);
        p += 4 + (len > 0 ? len : 0);
        if (p > buf.length) {
          complete = false;
          break;
        }
      }
      if (!complete) return off;
      p = off + 2;
      let s = 0;
      for (let i = 0; i < n; i++) {
        const len = buf.readInt32BE(p);
        p += 4;
        if (i > 0) out.byte(0x09);
        if (len < 0) {
          out.byte(0x5c);
          out.byte(0x4e); // \N
          s = (s + Math.imul(NULL_DIGEST, weights[i])) >>> 0;
        } else {
          codecs[i].writeTsv(buf, p, len, out);
          s = (s + Math.imul(codecs[i].digest(buf, p, len), weights[i])) >>> 0;
          p += len;
        }
      }
      out.bytes(this.lineSuffix, 0, this.lineSuffix.length);
      this.checksum.addRow(s);
      this.rowsInBatch++;
      off = p;
    }
    return off;
  }

  /** The TSV of the rows converted since the last call. */
  takeBatch(): { data: Buffer; rows: number } {
    const rows = this.rowsInBatch;
    this.rowsInBatch = 0;
    return { data: this.out.take(), rows };
  }

  /** Asserts the stream ended cleanly (trailer seen, nothing left over). */
  end(): void {
    if (!this.finished) throw new CopyFormatError('COPY stream ended without its trailer');
    if (this.pending && this.pending.length > 0) throw new CopyFormatError('COPY stream has bytes after its trailer');
  }
}
