import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pgIdent, pgQualified } from '@strata/core';
import { StoreRejectedError, StoreUnavailableError } from '../errors';
import type { TableModel } from '../model/table-model';
import type { EncodedRequest, FlushBatch } from './batching-writer';
import { withPgClient } from './pg-client';

/**
 * One batch = one `COPY … FROM STDIN` (text format). A single COPY statement is atomic and,
 * outside a transaction block, committed when PostgreSQL sends CommandComplete, so the
 * batch's requests are acknowledged only after their rows are durable.
 */
export function postgresCopyFlush(pool: Pool): FlushBatch {
  return (table: TableModel, requests: readonly EncodedRequest[]) =>
    withPgClient(pool, async (client, discard) => {
      try {
        const sql = `COPY ${pgQualified(table.spec.schema, table.spec.table)} (${table.copyColumns.map(pgIdent).join(', ')}) FROM STDIN`;
        const copy = client.query(copyFrom(sql));
        await pipeline(Readable.from(requests.map((r) => r.data)), copy);
      } catch (err) {
        const mapped = classifyPgError(err);
        // A connection that failed mid-COPY is discarded rather than reused.
        if (mapped instanceof StoreUnavailableError) discard(err as Error);
        throw mapped;
      }
    });
}

/** Data and schema errors refuse the request (400); everything else is an outage (503). */
export function classifyPgError(err: unknown): StoreRejectedError | StoreUnavailableError {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    const cls = code.slice(0, 2);
    if (cls === '22' || cls === '23' || cls === '42') {
      return new StoreRejectedError('postgresql', `SQLSTATE ${code}`, { cause: err });
    }
  }
  return new StoreUnavailableError('postgresql', { cause: err });
}
