import { Transform } from 'node:stream';
import type { ColdStore, QueryParams } from '@strata/core';
import { SqlStateError } from './contract';

/**
 * The bound on the last-resort plan (issue 14, item 6): raw cold rows finished in
 * PostgreSQL are counted on their way in and stopped past `maxRows` / `maxBytes`, so the
 * fallback never fills PostgreSQL's disk. The client gets 54000 naming the limit that
 * stopped it and how many cold rows the statement would have needed (ClickHouse counts
 * them once the stream is stopped: the endpoint serves one request at a time).
 */
export interface RawRowLimits {
  maxRows: number;
  maxBytes: number;
}

export const RAW_ROW_DEFAULTS: RawRowLimits = { maxRows: 20_000_000, maxBytes: 4 * 1024 ** 3 };

/** Raised inside the stream; `withEstimate` turns it into the client's 54000. */
export class RawRowBoundExceeded extends Error {
  constructor(
    readonly table: string,
    readonly limit: string,
  ) {
    super(`raw cold rows of "${table}" past ${limit}`);
  }

  toSqlState(estimate: number | undefined): SqlStateError {
    const needs = estimate === undefined ? '' : `; its cold rows in range: ${estimate.toLocaleString('en-US')}`;
    return new SqlStateError(
      '54000',
      `this statement needs more than ${this.limit} of raw cold rows of "${this.table}" finished in PostgreSQL (the engine's limit)${needs}`,
      undefined,
      'Narrow the time range, aggregate by a bucket the cold tier can pre-aggregate, or add ORDER BY … LIMIT; the limits are STRATA_PROXY_MAX_RAW_COLD_ROWS and STRATA_PROXY_MAX_RAW_COLD_BYTES.',
    );
  }
}

/**
 * The error for `rows` / `bytes` of raw cold rows of `table` past `limits` (the row limit
 * named first when both are), or undefined within them. The one place the bound is
 * decided and its limit named: the streamed COPY and the small inlined answer
 * (cold-rows.ts) both ask it, so the client's 54000 reads the same either way.
 */
export function rawRowBoundExceeded(table: string, limits: RawRowLimits, rows: number, bytes: number): RawRowBoundExceeded | undefined {
  if (rows > limits.maxRows) return new RawRowBoundExceeded(table, `${limits.maxRows} rows`);
  if (bytes > limits.maxBytes) return new RawRowBoundExceeded(table, `${Math.round(limits.maxBytes / 1024 ** 2)} MiB`);
  return undefined;
}

export function rawRowBound(table: string, limits: RawRowLimits): Transform {
  let rows = 0;
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) rows++;
      const exceeded = rawRowBoundExceeded(table, limits, rows, bytes);
      if (exceeded) {
        done(exceeded);
        return;
      }
      done(null, chunk);
    },
  });
}

/**
 * The client's error for a failed COPY of raw cold rows: past the bound, 54000 with the
 * statement's cold row count (`rawSql`: the cold query whose rows were being copied);
 * anything else unchanged.
 */
export async function boundError(err: unknown, cold: Pick<ColdStore, 'query'>, rawSql: string, params: QueryParams): Promise<unknown> {
  if (!(err instanceof RawRowBoundExceeded)) return err;
  const estimate = await cold
    .query<{ n: string }>(`SELECT count() AS n FROM (${rawSql})`, params)
    .then((r) => Number(r[0]?.n))
    .catch(() => undefined);
  return err.toSqlState(estimate);
}
