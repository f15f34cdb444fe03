import { pipeline } from 'node:stream/promises';
import type { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DATASET_COLUMNS, datasetRowCount, datasetStream, detectHotFlavor, ensurePartitions, getRegisteredTable, pgIdent, postgresDdl } from '@strata/core';

/**
 * The corpus dataset's rows for the last `hours` hours up to now, continuing after the
 * newest row already there, so re-running only adds the minutes since. Returns a line
 * saying what it did.
 */
export async function insertDemoRows(hot: Client, table: string, hours: number, nowMs = Date.now()): Promise<string> {
  const reg = await getRegisteredTable(hot, table);
  if (!reg) throw new Error(`table "${table}" is not registered; run \`strata apply\` first`);
  const now = Math.floor(nowMs / 60_000) * 60_000;
  const last = await hot.query<{ t: Date | null }>(`SELECT max(${pgIdent(reg.spec.timeColumn)}) AS t FROM ${postgresDdl.hotTable(reg.spec)}`);
  const start = Math.max(now - hours * 3_600_000, last.rows[0].t ? Math.floor(last.rows[0].t.getTime() / 60_000) * 60_000 + 60_000 : 0);
  const minutes = Math.floor((now - start) / 60_000);
  if (minutes <= 0) return `${table}: up to date`;
  if ((await detectHotFlavor(hot)) === 'native') await ensurePartitions(hot, reg.spec, new Date(start), new Date(now));
  const sink = hot.query(copyFrom(`COPY ${postgresDdl.hotTable(reg.spec)} (${DATASET_COLUMNS.map(pgIdent).join(', ')}) FROM STDIN`));
  await pipeline(datasetStream({ start, toMinute: minutes }), sink);
  return `${table}: inserted ${datasetRowCount({ toMinute: minutes })} rows from ${new Date(start).toISOString()} to ${new Date(now).toISOString()}`;
}
