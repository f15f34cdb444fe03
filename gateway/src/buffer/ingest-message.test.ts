import { GatewayConfigError } from '../errors';
import { bufferConfigFromEnv, natsConnectOptions, resolveBufferConfig } from './buffer-config';
import { messageHeaders, MalformedIngestMessageError, packParts, parseIngestMessage, RowTooLargeError } from './ingest-message';

const part = (text: string) => ({ data: Buffer.from(text), rows: text.split('\n').length - 1 });

describe('packParts', () => {
  test.each([
    ['whole requests together while they fit', ['a\nb\n', 'c\n'], 10, ['a\nb\nc\n']],
    ['a request that does not fit starts the next message', ['aaaa\n', 'bbbb\n', 'c\n'], 10, ['aaaa\nbbbb\n', 'c\n']],
    ['a request larger than a message is cut at line ends', ['aa\nbb\ncc\ndd\n'], 7, ['aa\nbb\n', 'cc\ndd\n']],
    ['empty requests are skipped', ['', 'x\n'], 10, ['x\n']],
  ])('%s', (_name, requests, limit, expected) => {
    const out = packParts(requests.map(part), limit);
    expect(out.map((p) => p.data.toString())).toEqual(expected);
    // Rows are counted per message, and every row is in exactly one message.
    expect(out.map((p) => p.rows)).toEqual(expected.map((e) => e.split('\n').length - 1));
    expect(out.map((p) => p.data.toString()).join('')).toBe(requests.join(''));
  });

  test('a row larger than a message cannot be buffered', () => {
    expect(() => packParts([part('short\nthis-row-is-too-long\n')], 8)).toThrow(RowTooLargeError);
  });
});

describe('ingest message headers', () => {
  const meta = { store: 'postgresql' as const, schema: 'public', table: 'metrics_events', columns: ['time', 'value'], rows: 2 };
  const headerOf = (pairs: [string, string][]) => (name: string) => pairs.find(([k]) => k === name)?.[1];

  test('round trip', () => {
    const m = parseIngestMessage('id-1', headerOf(messageHeaders(meta)), Buffer.from('x\ny\n'));
    expect(m).toMatchObject({ ...meta, id: 'id-1' });
    expect(m.data.toString()).toBe('x\ny\n');
  });

  test.each([
    ['no id', undefined, messageHeaders(meta)],
    ['a column that is not an identifier', 'id', messageHeaders({ ...meta, columns: ['time', 'value); DROP TABLE x; --'] })],
    ['an unknown store', 'id', messageHeaders({ ...meta, store: 'mysql' as never })],
  ])('malformed: %s', (_name, id, pairs) => {
    expect(() => parseIngestMessage(id, headerOf(pairs), Buffer.alloc(0))).toThrow(MalformedIngestMessageError);
  });
});

describe('buffer configuration', () => {
  test('defaults, and the environment', () => {
    expect(bufferConfigFromEnv({})).toBeUndefined();
    expect(bufferConfigFromEnv({ STRATA_GATEWAY_BUFFER: 'direct' })).toBeUndefined();
    const cfg = resolveBufferConfig(bufferConfigFromEnv({ STRATA_GATEWAY_BUFFER: 'nats://127.0.0.1:4222', STRATA_GATEWAY_BUFFER_REPLICAS: '3', STRATA_GATEWAY_BUFFER_WRITERS: '0' })!);
    expect(cfg).toMatchObject({ url: 'nats://127.0.0.1:4222', stream: 'STRATA_INGEST', replicas: 3, writers: false, maxBytes: 1024 ** 3 });
  });

  test.each([
    [{ url: 'http://x:1' }],
    [{ url: 'nats://x:1', replicas: 0 }],
    [{ url: 'nats://x:1', maxBytes: 0 }],
    [{ url: 'nats://x:1', stream: 'a.b' }],
    [{ url: 'nats://x:1', subjectPrefix: 'a.*' }],
    [{ url: 'nats://x:1', deadLetterPrefix: 'strata.ingest.dead' }],
  ])('refused: %j', (c) => {
    expect(() => resolveBufferConfig(c)).toThrow(GatewayConfigError);
  });

  test('credentials leave the server list', () => {
    expect(natsConnectOptions('nats://u:p%40ss@h1:4222,nats://h2:4223')).toEqual({ servers: ['nats://h1:4222', 'nats://h2:4223'], user: 'u', pass: 'p@ss' });
  });
});
