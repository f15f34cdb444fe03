import { gunzip, inflate } from 'node:zlib';
import { promisify } from 'node:util';
import { decompress as zstdDecompress } from '@mongodb-js/zstd';
import { MalformedBodyError, PayloadTooLargeError, UnsupportedEncodingError } from '../errors';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/**
 * Undoes Content-Encoding. The compressed size is already bounded by fastify's bodyLimit
 * (413); the decompressed size is bounded here, so a small bomb cannot exhaust memory.
 * Node 20's zlib has no zstd (it arrived in Node 22.15), hence @mongodb-js/zstd, whose
 * prebuilt binary comes from npm.
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
    const declared = zstdFrameContentSize(raw);
    if (declared !== undefined && declared > limit) throw new PayloadTooLargeError(limit, 'decompressed body');
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

/** The Frame_Content_Size a zstd frame header declares (RFC 8878 §3.1.1.1), when it does. */
export function zstdFrameContentSize(b: Buffer): number | undefined {
  if (b.length < 6 || b.readUInt32LE(0) !== 0xfd2fb528) return undefined;
  const fhd = b[4];
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const dictIdFlag = fhd & 3;
  const pos = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictIdFlag];
  const size = fcsFlag === 0 ? (singleSegment ? 1 : 0) : [1, 2, 4, 8][fcsFlag];
  if (size === 0 || b.length < pos + size) return undefined;
  if (size === 1) return b[pos];
  if (size === 2) return b.readUInt16LE(pos) + 256;
  if (size === 4) return b.readUInt32LE(pos);
  const big = b.readBigUInt64LE(pos);
  return big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big);
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
