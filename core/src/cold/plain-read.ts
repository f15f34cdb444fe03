import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { parseError } from '@clickhouse/client';
import type { QueryParams } from './cold-store';

/**
 * A streamed read sent over ClickHouse's HTTP interface by hand: the proxy's cold answers
 * (HttpColdStore.queryTsvStream), one request per cold statement, on its path.
 *
 * Why not @clickhouse/client, which sends every other request: before each request its
 * socket pool waits a timer tick (`await sleep(0)`, ≥ 1 ms: its guard against keep-alive
 * sockets that expired under CPU load, clickhouse-js#294), then pipes the body as a chunked
 * stream. Against the chDB endpoint that cost 1.6–1.8 ms a request, medians of 60 each way
 * interleaved (`node .build/bench/cold/plain-read.js`: SELECT 1 2.87 ms by hand, 4.67
 * through the client; 100,000 rows 8.46 and 10.04). Here the request is one write with a length, on a
 * keep-alive agent whose idle sockets close after IDLE_SOCKET_MS (as the client's
 * idle_socket_ttl), or sooner where the server's Keep-Alive hint says so (Node's agent).
 * A reused socket the server closed anyway fails before any byte, as 'socket hang up' or
 * ECONNRESET, and HttpColdStore retries it like the client's.
 *
 * The request is the client's: the query in the body, parameters as `param_<name>` in
 * the URL in ClickHouse's escaped text form, the database in X-ClickHouse-Database, basic
 * auth. A status other than 200 is ClickHouse's exception, parsed as the client parses it
 * (ClickHouseError, with its code), so errors read the same either way.
 */
export interface PlainReadTarget {
  /** The server's URL, without credentials (its path is kept). */
  url: string;
  username: string;
  password: string;
  requestTimeoutMs: number;
}

/** Idle keep-alive sockets are closed after this long (the client's default idle_socket_ttl). */
const IDLE_SOCKET_MS = 2_500;
/** What @clickhouse/client rejects with when request_timeout elapses, said alike here: http-cold-store.ts classifies both. */
export const READ_TIMEOUT_MESSAGE = 'Timeout error.';

export class PlainReads {
  private readonly base: URL;
  private readonly agent: HttpAgent;
  private readonly auth: string;

  constructor(private readonly target: PlainReadTarget) {
    this.base = new URL(target.url);
    const secure = this.base.protocol === 'https:';
    this.agent = secure ? new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }) : new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS });
    this.auth = `Basic ${Buffer.from(`${target.username}:${target.password}`).toString('base64')}`;
  }

  /** `sql` (ending in its FORMAT clause) streamed once ClickHouse answers 200. */
  read(sql: string, params: QueryParams | undefined, headers: Record<string, string> | undefined): Promise<Readable> {
    const url = new URL(this.base);
    for (const [name, value] of Object.entries(params ?? {})) url.searchParams.set(`param_${name}`, escapedParam(value));
    const body = Buffer.from(sql, 'utf8');
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, {
        method: 'POST',
        agent: this.agent,
        headers: { ...headers, Authorization: this.auth, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, 'User-Agent': 'strata' },
      });
      // Idle on the socket this long, before the answer or between its chunks: the client's request_timeout.
      req.setTimeout(this.target.requestTimeoutMs, () => req.destroy(new Error(READ_TIMEOUT_MESSAGE)));
      req.once('error', reject);
      req.once('response', (res: IncomingMessage) => {
        if (res.statusCode === 200) {
          resolve(res);
          return;
        }
        text(res).then((body) => reject(parseError(body || `HTTP ${res.statusCode ?? '?'}`)), reject);
      });
      req.end(body);
    });
  }

  /** `sql`'s whole answer as text (a small one: a count, a measure, a listing). */
  async readText(sql: string, params: QueryParams | undefined, headers: Record<string, string> | undefined): Promise<string> {
    return text(await this.read(sql, params, headers));
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A parameter value as ClickHouse reads `param_<name>`: escaped text, \N for NULL. */
export function escapedParam(value: string | number | boolean | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') return Number.isNaN(value) ? 'nan' : value === Infinity ? '+inf' : value === -Infinity ? '-inf' : String(value);
  return value.replace(/[\t\n\r'\\]/g, (c) => ESCAPES[c]);
}

const ESCAPES: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r', "'": "\\'", '\\': '\\\\' };
