import { gzipSync } from 'node:zlib';
import { compress } from '@mongodb-js/zstd';
import { decodeContent, parseJsonRows, zstdFrameContentSize } from './body';

describe('decodeContent', () => {
  test('gzip and zstd round trip; limits apply to the decompressed size', async () => {
    const data = Buffer.from('x'.repeat(10_000));
    expect(await decodeContent(gzipSync(data), 'gzip', 20_000)).toEqual(data);
    const z = await compress(data);
    // This encoder streams (no Frame_Content_Size); a header that declares one is read.
    expect(zstdFrameContentSize(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x10]))).toBe(16);
    expect(await decodeContent(z, 'zstd', 20_000)).toEqual(data);
    await expect(decodeContent(gzipSync(data), 'gzip', 1_000)).rejects.toMatchObject({ statusCode: 413 });
    await expect(decodeContent(z, 'zstd', 1_000)).rejects.toMatchObject({ statusCode: 413 });
    await expect(decodeContent(Buffer.from('nope'), 'zstd', 1_000)).rejects.toMatchObject({ statusCode: 400 });
    await expect(decodeContent(data, 'br', 1_000)).rejects.toMatchObject({ statusCode: 415 });
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
