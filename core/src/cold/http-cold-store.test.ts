import { ClickHouseError } from '@clickhouse/client';
import { ColdStoreError } from './cold-store';
import {
  HTTP_COLD_STORE_DEFAULTS,
  isTransientNetworkError,
  networkFailureOf,
  resolveHttpColdStoreConfig,
  retryDelayMs,
  toColdStoreError,
} from './http-cold-store';

const errno = (code: string, message = `${code.toLowerCase()} 127.0.0.1:8123`) => Object.assign(new Error(message), { code });

describe('resolveHttpColdStoreConfig', () => {
  test('fills every default', () => {
    expect(resolveHttpColdStoreConfig({ url: 'http://127.0.0.1:8123', database: 'strata' })).toEqual({
      url: 'http://127.0.0.1:8123/',
      displayUrl: 'http://127.0.0.1:8123',
      username: 'default',
      password: '',
      database: 'strata',
      requestTimeoutMs: HTTP_COLD_STORE_DEFAULTS.requestTimeoutMs,
      compression: true,
      compressStreamedReads: false,
      maxRetries: 3,
    });
  });

  test('moves credentials out of the URL; explicit ones win', () => {
    const fromUrl = resolveHttpColdStoreConfig({ url: 'https://bob:p%40ss@ch.example:8443', database: 'd' });
    expect(fromUrl).toMatchObject({ url: 'https://ch.example:8443/', displayUrl: 'https://ch.example:8443', username: 'bob', password: 'p@ss' });
    const explicit = resolveHttpColdStoreConfig({ url: 'https://bob:x@ch.example', username: 'amy', password: 'y', database: 'd' });
    expect(explicit).toMatchObject({ username: 'amy', password: 'y', displayUrl: 'https://ch.example' });
  });

  test.each([
    [{ url: 'not a url' }, /not a valid URL/],
    [{ url: 'tcp://ch:9000' }, /must be http:\/\/ or https:\/\//],
    [{ url: 'http://ch', maxRetries: -1 }, /maxRetries/],
    [{ url: 'http://ch', maxRetries: 1.5 }, /maxRetries/],
    [{ url: 'http://ch', requestTimeoutMs: 0 }, /requestTimeoutMs/],
  ])('rejects %j', (partial, message) => {
    expect(() => resolveHttpColdStoreConfig({ database: 'd', ...partial })).toThrow(message);
  });

  test('an invalid URL is not echoed (it may hold a password)', () => {
    expect(() => resolveHttpColdStoreConfig({ url: 'http://u:hunter2@[bad', database: 'd' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    );
  });
});

describe('networkFailureOf', () => {
  test.each([
    [errno('ECONNREFUSED'), 'unreachable'],
    [errno('EHOSTUNREACH'), 'unreachable'],
    [errno('ENOTFOUND'), 'unreachable'],
    [errno('EAI_AGAIN'), 'unreachable'],
    [errno('ECONNRESET'), 'connection-lost'],
    [errno('EPIPE'), 'connection-lost'],
    [errno('ETIMEDOUT'), 'connection-lost'],
    [new Error('socket hang up'), 'connection-lost'],
    [new Error('Timeout error.'), 'timeout'],
    [new ClickHouseError({ message: 'Syntax error', code: '62', type: 'SYNTAX_ERROR' }), undefined],
    [new Error('Unexpected encoding: zstd'), undefined],
    ['ECONNRESET', undefined],
  ])('%p is %p', (err, expected) => {
    expect(networkFailureOf(err)).toBe(expected);
    expect(isTransientNetworkError(err)).toBe(expected !== undefined);
  });

  test('recognises errors from another realm (Node socket errors inside a vm context)', () => {
    const foreign = { name: 'Error', message: 'read ECONNRESET', code: 'ECONNRESET' };
    expect(networkFailureOf(foreign)).toBe('connection-lost');
  });
});

describe('retryDelayMs', () => {
  test.each([
    [1, 50, 100],
    [2, 100, 200],
    [3, 200, 400],
    [10, 1000, 2000],
  ])('attempt %i waits between %i and %i ms', (attempt, min, max) => {
    expect(retryDelayMs(attempt, () => 0)).toBe(min);
    expect(retryDelayMs(attempt, () => 1)).toBe(max);
  });
});

describe('toColdStoreError', () => {
  const config = { displayUrl: 'http://127.0.0.1:8123', requestTimeoutMs: 5000 };

  test('a ClickHouse exception keeps its code and name; its text (which may quote SQL) stays on cause', () => {
    const ch = new ClickHouseError({ message: "Unknown table expression identifier 'db.secret_table' in scope SELECT 1", code: '60', type: 'UNKNOWN_TABLE' });
    const err = toColdStoreError(ch, 'query', config);
    expect(err).toBeInstanceOf(ColdStoreError);
    expect(err.clickhouseCode).toBe(60);
    expect(err.message).toBe('ClickHouse query failed: UNKNOWN_TABLE (code 60)');
    expect(err.cause).toBe(ch);
  });

  test.each([
    [errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:8123'), undefined, 'ClickHouse at http://127.0.0.1:8123 is unreachable: connect ECONNREFUSED 127.0.0.1:8123'],
    [
      Object.assign(new AggregateError([errno('ECONNREFUSED', 'connect ECONNREFUSED ::1:8123'), errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:8123')], ''), { code: 'ECONNREFUSED' }),
      undefined,
      'ClickHouse at http://127.0.0.1:8123 is unreachable: connect ECONNREFUSED ::1:8123; connect ECONNREFUSED 127.0.0.1:8123',
    ],
    [new Error('socket hang up'), 'not retried: no dedupToken', 'connection to ClickHouse at http://127.0.0.1:8123 was lost during insert: socket hang up (not retried: no dedupToken)'],
    [new Error('Timeout error.'), undefined, 'ClickHouse at http://127.0.0.1:8123 did not answer the insert within 5000 ms'],
    [new Error('<html>' + 'x'.repeat(500)), undefined, 'ClickHouse insert failed: <html>' + 'x'.repeat(194)],
  ])('%p', (cause, notRetried, message) => {
    const err = toColdStoreError(cause, 'insert', config, notRetried);
    expect(err.message).toBe(message);
    expect(err.clickhouseCode).toBeUndefined();
  });

  test('a ColdStoreError passes through unchanged', () => {
    const original = new ColdStoreError('already converted', 81);
    expect(toColdStoreError(original, 'command', config)).toBe(original);
  });
});
