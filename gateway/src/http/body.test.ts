import { deflateSync, gzipSync } from 'node:zlib';
import { compress } from '@mongodb-js/zstd';
import { decodeContent, parseJsonRows, zstdOutputBound } from './body';
import { deflateZeros, gzipZeros, zstdFrame, zstdZeros } from './compressed-test-bodies';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('decodeContent', () => {
  test('gzip, deflate and zstd round trip; limits apply to the decompressed size', async () => {
    const data = Buffer.from('x'.repeat(10_000));
    expect(await decodeContent(gzipSync(data), 'gzip', 20_000)).toEqual(data);
    expect(await decodeContent(deflateSync(data), 'deflate', 20_000)).toEqual(data);
    // This encoder streams: no Frame_Content_Size, a 2 MiB window, so one compressed block
    // counts as 128 KiB until decompressed.
    const z = await compress(data);
    expect(await decodeContent(z, 'zstd', MiB)).toEqual(data);
    expect(await decodeContent(Buffer.concat([z, z]), 'zstd', MiB)).toEqual(Buffer.concat([data, data]));
    await expect(decodeContent(gzipSync(data), 'gzip', 1_000)).rejects.toMatchObject({ statusCode: 413 });
    await expect(decodeContent(deflateSync(data), 'deflate', 1_000)).rejects.toMatchObject({ statusCode: 413 });
    await expect(decodeContent(z, 'zstd', 1_000)).rejects.toMatchObject({ statusCode: 413 });
    await expect(decodeContent(Buffer.from('nope'), 'zstd', 1_000)).rejects.toMatchObject({ statusCode: 400 });
    await expect(decodeContent(data, 'br', 1_000)).rejects.toMatchObject({ statusCode: 415 });
  });

  // Each of these decompresses to 4 GiB (or claims less than it holds); a limit of 1 MiB
  // answers 413 without ever holding more than the limit.
  test.each([
    ['zstd, one frame without a content size', 'zstd', () => zstdZeros(4 * GiB)],
    ['zstd, a frame that declares 16 bytes and holds 4 GiB', 'zstd', () => zstdZeros(4 * GiB, { contentSize: 16 })],
    ['zstd, a small frame then a huge one', 'zstd', () => Buffer.concat([zstdZeros(100, { contentSize: 100 }), zstdZeros(4 * GiB)])],
    ['zstd, many frames under the limit each', 'zstd', () => Buffer.concat(Array.from({ length: 64 }, () => zstdZeros(MiB / 2)))],
    ['gzip, 64 members of 64 MiB', 'gzip', () => gzipZeros(4 * GiB)],
    ['gzip, a small member then huge ones', 'gzip', () => Buffer.concat([gzipSync(Buffer.from('{}')), gzipZeros(GiB)])],
    ['deflate, one stream of 4 GiB', 'deflate', () => deflateZeros(4 * GiB)],
  ])('%s → 413', async (_name, encoding, body) => {
    await expect(decodeContent(body(), encoding, MiB)).rejects.toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
  });

  test('the zero-filled builders are valid streams (decoded under a limit that fits them)', async () => {
    expect(await decodeContent(zstdZeros(300_000), 'zstd', MiB)).toEqual(Buffer.alloc(300_000));
    expect((await decodeContent(deflateZeros(64 * MiB), 'deflate', 64 * MiB)).length).toBe(64 * MiB);
  });
});

describe('zstdOutputBound', () => {
  test.each([
    ['RLE and raw blocks count their size', zstdFrame([{ rle: 1000 }, { raw: Buffer.alloc(24) }]), 1024],
    ['a declared content size is checked, the blocks are counted', zstdFrame([{ rle: 10 }], { contentSize: 10 }), 10],
    ['frames add up', Buffer.concat([zstdZeros(MiB / 4), zstdZeros(MiB / 4)]), MiB / 2],
    ['a skippable frame adds nothing', Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 9, 9]), zstdZeros(5)]), 5],
  ])('%s', (_name, body, bound) => expect(zstdOutputBound(body, MiB)).toBe(bound));

  test.each([
    ['a declared content size past the limit', zstdFrame([{ rle: 1 }], { contentSize: MiB + 1 }), 413, /decompressed body is larger than the limit/],
    ['a window past the limit and 8 MiB', zstdFrame([{ rle: 1 }], { windowLog: 30 }), 413, /zstd window is larger/],
    ['a dictionary', zstdFrame([{ rle: 1 }], { dictionaryId: 7 }), 400, /dictionaries/],
    ['a legacy (v0.7) frame', Buffer.from([0x27, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0, 0]), 400, /not a zstd frame/],
    ['a truncated block', zstdFrame([{ raw: Buffer.alloc(100) }]).subarray(0, 50), 400, /truncated/],
    ['trailing bytes', Buffer.concat([zstdZeros(10), Buffer.from('junk')]), 400, /truncated|not a zstd frame/],
  ])('refuses %s', (_name, body, status, message) => {
    expect(() => zstdOutputBound(body, MiB)).toThrow(expect.objectContaining({ statusCode: status, message: expect.stringMatching(message) }));
  });
});

describe('parseJsonRows', () => {
  test.each([
    ['[{"a":1},{"a":2}]', 'application/json', [{ a: 1 }, { a: 2 }]],
    ['{"a":1}', 'application/json', [{ a: 1 }]],
    ['{"a":1}\n{"a":2}\n', 'application/x-ndjson', [{ a: 1 }, { a: 2 }]],
    ['{"a":1}\r\n\r\n{"a":"x\\ny"}', undefined, [{ a: 1 }, { a: 'x\ny' }]],
    ['', 'application/x-ndjson', []],
  ])('%j (%s)', (text, type, rows) => expect(parseJsonRows(Buffer.from(text), type)).toEqual(rows));

  test.each([
    ['[{"a":1}', 'application/json', /malformed JSON/],
    ['{"a":1}\n{"a":', 'application/x-ndjson', /NDJSON line 2/],
    ['42', 'application/json', /expected a JSON array/],
  ])('refuses %j', (text, type, message) => expect(() => parseJsonRows(Buffer.from(text), type)).toThrow(message));

  test('error messages carry the position, never the input text', () => {
    expect(() => parseJsonRows(Buffer.from('[{"secret": tru}]'), 'application/json')).toThrow(/^malformed JSON( at position \d+)?$/);
  });
});
