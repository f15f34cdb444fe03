import { gunzip, inflate } from 'node:zlib';
import { promisify } from 'node:util';
import { decompress as zstdDecompress } from '@mongodb-js/zstd';
import { MalformedBodyError, PayloadTooLargeError, UnsupportedEncodingError } from '../errors';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** Content-Encoding values decodeContent undoes; identity (or none) passes through. */
export function isCompressed(encoding: string | undefined): boolean {
  const enc = (encoding ?? '').trim().toLowerCase();
  return enc !== '' && enc !== 'identity';
}

/**
 * Undoes Content-Encoding with a hard limit on the output. The compressed size is already
 * bounded by fastify's bodyLimit (413); the decompressed size never grows past `limit`:
 * - gzip (every member, however many) and deflate stream through zlib, which stops at
 *   `maxOutputLength`;
 * - zstd is walked frame by frame and block by block first (zstdOutputBound): a body whose
 *   blocks could regenerate more than `limit` is refused before a byte is decompressed.
 *   Node 20's zlib has no zstd (it arrived in Node 22.15), hence @mongodb-js/zstd, whose
 *   decoder has no output limit of its own.
 * How many bodies decompress at once is bounded by the caller (DecompressionSlots).
 */
export async function decodeContent(raw: Buffer, encoding: string | undefined, limit: number): Promise<Buffer> {
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return raw;
  if (raw.length === 0) return raw;
  try {
    if (enc === 'gzip' || enc === 'x-gzip') return await gunzipAsync(raw, { maxOutputLength: limit });
    if (enc === 'deflate') return await inflateAsync(raw, { maxOutputLength: limit });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new PayloadTooLargeError(limit, 'decompressed body');
    throw new MalformedBodyError(`body is not valid ${enc} data`, { cause: err });
  }
  if (enc === 'zstd') {
    zstdOutputBound(raw, limit);
    let out: Buffer;
    try {
      out = await zstdDecompress(raw);
    } catch (err) {
      throw new MalformedBodyError('body is not valid zstd data', { cause: err });
    }
    if (out.length > limit) throw new PayloadTooLargeError(limit, 'decompressed body');
    return out;
  }
  throw new UnsupportedEncodingError(enc);
}

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_BLOCK_SIZE_MAX = 128 * 1024;
/** Windows up to 8 MiB are what `zstd` levels 1–19 write; larger ones only pay for a larger limit. */
const ZSTD_WINDOW_FLOOR = 8 * 1024 * 1024;

/**
 * The most a zstd body can decompress to, from its frame and block headers alone (RFC 8878
 * §3.1.1): raw and RLE blocks regenerate their Block_Size, a compressed block at most
 * Block_Maximum_Size = min(Window_Size, 128 KiB) — libzstd's streaming decoder, which
 * @mongodb-js/zstd uses, refuses a block that regenerates more ("Decompressed Block Size
 * Exceeds Maximum"). Throws 413 as soon as the bound passes `limit`, or a frame declares a
 * content size or needs a window past it (the decoder allocates the window); 400 for
 * anything the walk cannot follow (dictionaries, legacy formats, truncation, trailing
 * bytes), so the decoder only ever sees frames counted here.
 */
export function zstdOutputBound(b: Buffer, limit: number): number {
  const malformed = (why: string) => new MalformedBodyError(`body is not valid zstd data: ${why}`);
  const windowCap = Math.max(limit, ZSTD_WINDOW_FLOOR);
  let bound = 0;
  let pos = 0;
  while (pos < b.length) {
    if (b.length - pos < 8) throw malformed('truncated frame');
    const magic = b.readUInt32LE(pos);
    if (magic >>> 4 === 0x184d2a5) {
      pos += 8 + b.readUInt32LE(pos + 4); // skippable frame: nothing to decompress
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw malformed('not a zstd frame');
    const fhd = b[pos + 4];
    if (fhd & 0x08) throw malformed('reserved bit set');
    if (fhd & 0x03) throw malformed('dictionaries are not supported');
    const singleSegment = (fhd >> 5) & 1;
    const fcsFlag = fhd >> 6;
    let p = pos + 5;
    let window = 0;
    if (!singleSegment) {
      const wd = b[p++];
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    const fcsBytes = fcsFlag === 0 ? singleSegment : [1, 2, 4, 8][fcsFlag];
    if (p + fcsBytes + 3 > b.length) throw malformed('truncated frame header');
    let fcs: number | undefined;
    if (fcsBytes === 1) fcs = b[p];
    else if (fcsBytes === 2) fcs = b.readUInt16LE(p) + 256;
    else if (fcsBytes === 4) fcs = b.readUInt32LE(p);
    else if (fcsBytes === 8) fcs = Number(b.readBigUInt64LE(p));
    p += fcsBytes;
    if (singleSegment) window = fcs!;
    if (fcs !== undefined && bound + fcs > limit) throw new PayloadTooLargeError(limit, 'decompressed body');
    if (window > windowCap) throw new PayloadTooLargeError(windowCap, 'zstd window');
    const blockMax = Math.min(window, ZSTD_BLOCK_SIZE_MAX);
    for (;;) {
      if (p + 3 > b.length) throw malformed('truncated block');
      const header = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16);
      p += 3;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw malformed('reserved block type');
      // RLE: one byte repeated Block_Size times; raw and compressed: Block_Size bytes follow.
      p += type === 1 ? 1 : size;
      bound += type === 2 ? blockMax : size;
      if (p > b.length) throw malformed('truncated block');
      if (bound > limit) throw new PayloadTooLargeError(limit, 'decompressed body');
      if (header & 1) break;
    }
    if (fhd & 0x04) p += 4; // Content_Checksum
    if (p > b.length) throw malformed('truncated checksum');
    pos = p;
  }
  if (pos !== b.length) throw malformed('truncated skippable frame');
  return bound;
}

/**
 * A JSON array of objects, one object, or NDJSON (one object per line). The content type
 * decides when given; otherwise a body starting with `[` is a JSON array.
 */
export function parseJsonRows(body: Buffer, contentType: string | undefined): Record<string, unknown>[] {
  const text = body.toString('utf8');
  if (isNdjsonContentType(contentType)) return parseNdjson(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // Several objects, one per line, under a generic content type: NDJSON.
    if (/^\s*\{/.test(text) && /\}\s*\r?\n\s*\{/.test(text)) return parseNdjson(text);
    throw new MalformedBodyError(`malformed JSON${jsonErrorPosition(err)}`, { cause: err });
  }
  if (Array.isArray(parsed)) return parsed as Record<string, unknown>[];
  if (parsed !== null && typeof parsed === 'object') return [parsed as Record<string, unknown>];
  throw new MalformedBodyError('expected a JSON array of row objects, an object, or NDJSON');
}

export function isNdjsonContentType(contentType: string | undefined): boolean {
  return /ndjson|jsonl|jsonlines/.test((contentType ?? '').split(';')[0].trim().toLowerCase());
}

function parseNdjson(text: string): Record<string, unknown>[] {
  // Raw newlines cannot occur inside JSON values, so the lines joined with commas form one
  // JSON array: one JSON.parse instead of one per line. On failure the per-line pass
  // below finds the line to name.
  const body = text.trim();
  if (body === '') return [];
  if (body[0] === '{') {
    try {
      const all = JSON.parse('[' + body.replace(/\r?\n[\s]*/g, ',') + ']') as unknown[];
      if (all.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r))) return all as Record<string, unknown>[];
    } catch {
      // fall through to the per-line pass
    }
  }
  const rows: Record<string, unknown>[] = [];
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (err) {
      throw new MalformedBodyError(`malformed JSON on NDJSON line ${lineNo}${jsonErrorPosition(err)}`, { cause: err });
    }
    rows.push(row as Record<string, unknown>);
  }
  return rows;
}

/** V8's SyntaxError text quotes the input; only the position is passed on. */
function jsonErrorPosition(err: unknown): string {
  const m = /position (\d+)/.exec(err instanceof Error ? err.message : '');
  return m ? ` at position ${m[1]}` : '';
}
