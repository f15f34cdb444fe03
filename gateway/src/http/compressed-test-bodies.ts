import { constants, deflateRawSync, gzipSync } from 'node:zlib';

/**
 * Bodies that decompress to far more than they weigh, built from headers and repeated
 * pieces instead of by compressing gigabytes: for the unit tests beside body.ts and the
 * decompression-bomb tests against the real gateway (test/gateway).
 */

const ZSTD_BLOCK = 128 * 1024;

export type ZstdBlock = { rle: number; byte?: number } | { raw: Buffer };

/**
 * One zstd frame (RFC 8878 §3.1.1). `contentSize` makes it single-segment with a 4-byte
 * Frame_Content_Size; without it the frame declares none and a window of 2^windowLog.
 */
export function zstdFrame(blocks: ZstdBlock[], opts: { contentSize?: number; windowLog?: number; dictionaryId?: number } = {}): Buffer {
  const parts: Buffer[] = [];
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(0xfd2fb528);
  parts.push(magic);
  const dict = opts.dictionaryId === undefined ? 0 : 3;
  if (opts.contentSize !== undefined) {
    const h = Buffer.alloc(5 + (dict ? 4 : 0));
    h[0] = 0x80 | 0x20 | dict; // FCS 4 bytes, single segment
    if (dict) h.writeUInt32LE(opts.dictionaryId!, 1);
    h.writeUInt32LE(opts.contentSize, dict ? 5 : 1);
    parts.push(h);
  } else {
    const h = Buffer.alloc(2 + (dict ? 4 : 0));
    h[0] = dict;
    h[1] = ((opts.windowLog ?? 20) - 10) << 3;
    if (dict) h.writeUInt32LE(opts.dictionaryId!, 2);
    parts.push(h);
  }
  blocks.forEach((b, i) => {
    const last = i === blocks.length - 1 ? 1 : 0;
    const isRle = 'rle' in b;
    const size = isRle ? b.rle : b.raw.length;
    const v = (size << 3) | ((isRle ? 1 : 0) << 1) | last;
    parts.push(Buffer.from([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff]));
    parts.push(isRle ? Buffer.from([b.byte ?? 0]) : b.raw);
  });
  return Buffer.concat(parts);
}

/** `bytes` zeros as 128 KiB RLE blocks: 4 bytes per block, 128 KiB for 4 GiB. */
export function zstdZeros(bytes: number, opts: { contentSize?: number; windowLog?: number } = {}): Buffer {
  const blocks: ZstdBlock[] = [];
  for (let left = bytes; left > 0; left -= ZSTD_BLOCK) blocks.push({ rle: Math.min(ZSTD_BLOCK, left) });
  return zstdFrame(blocks.length ? blocks : [{ raw: Buffer.alloc(0) }], opts);
}

const PIECE = 64 * 1024 * 1024;
let gzipPiece: Buffer | undefined;
let deflatePiece: Buffer | undefined;

/** `bytes` zeros (a multiple of 64 MiB) as that many gzip members of 64 MiB each. */
export function gzipZeros(bytes: number): Buffer {
  gzipPiece ??= gzipSync(Buffer.alloc(PIECE), { level: 9 });
  return Buffer.concat(Array.from({ length: Math.ceil(bytes / PIECE) }, () => gzipPiece!));
}

/**
 * `bytes` zeros (a multiple of 64 MiB) as one zlib stream: a sync-flushed raw deflate of
 * 64 MiB repeated (its matches reach back only into zeros), a final empty block, and the
 * Adler-32 of that many zeros (a = 1, b = n mod 65521).
 */
export function deflateZeros(bytes: number): Buffer {
  deflatePiece ??= deflateRawSync(Buffer.alloc(PIECE), { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
  const n = Math.ceil(bytes / PIECE);
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((n * PIECE) % 65521) * 65536 + 1) >>> 0);
  return Buffer.concat([Buffer.from([0x78, 0xda]), ...Array.from({ length: n }, () => deflatePiece!), Buffer.from([0x03, 0x00]), adler]);
}
