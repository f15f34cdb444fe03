import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { chQualified, clickhouseDdl, ColdStoreError, type ColdStore } from '@strata/core';
import { StoreRejectedError, StoreUnavailableError } from '../errors';
import type { TableModel } from '../model/table-model';
import type { EncodedRequest, FlushBatch } from './batching-writer';

/**
 * One batch = one ClickHouse INSERT of TabSeparated rows. ClickHouse's insert is atomic
 * per block and the whole batch is one block as long as it stays under
 * max_insert_block_size (set to the batch size). Each batch carries its own
 * insert_deduplication_token, so the retries here can never store it twice. A batch may
 * span any number of partitions (a backfill of a year of day partitions is one batch).
 */

/** ClickHouse error codes that mean the rows themselves are bad (retrying cannot help). */
const DATA_ERROR_CODES = new Set([6, 26, 27, 38, 41, 53, 69, 70, 72, 117, 130, 131, 241]);

export function clickhouseInsertFlush(cold: ColdStore, database: string, retries = 2): FlushBatch {
  return async (table: TableModel, requests: readonly EncodedRequest[]) => {
    const data = requests.length === 1 ? requests[0].data : Buffer.concat(requests.map((r) => r.data));
    const rows = requests.reduce((n, r) => n + r.rows, 0);
    await insertClickhouseBatch(cold, { table: chQualified(database, table.spec.table), columns: table.copyColumns, data, rows, dedupToken: randomUUID() }, retries);
  };
}

/**
 * One batch as one insert, retried with the same token: a data error is StoreRejectedError
 * (400, or a dead letter for the buffer's writers), anything else StoreUnavailableError.
 */
export async function insertClickhouseBatch(
  cold: ColdStore,
  batch: { table: string; columns: readonly string[]; data: Buffer; rows: number; dedupToken: string },
  retries = 2,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await cold.insertTsv({
        table: batch.table,
        columns: [...batch.columns],
        data: batch.data,
        dedupToken: batch.dedupToken,
        settings: {
          max_insert_block_size: Math.max(batch.rows, 1048576),
          min_insert_block_size_rows: 0,
          min_insert_block_size_bytes: 0,
          ...clickhouseDdl.ANY_PARTITIONS_PER_INSERT_SETTINGS,
        },
      });
      return;
    } catch (err) {
      const code = err instanceof ColdStoreError ? err.clickhouseCode : undefined;
      if (code !== undefined && DATA_ERROR_CODES.has(code)) {
        throw new StoreRejectedError('clickhouse', `ClickHouse error code ${code}`, { cause: err });
      }
      if (attempt >= retries) throw new StoreUnavailableError('clickhouse', { cause: err });
      await sleep(100 * 2 ** attempt);
    }
  }
}
