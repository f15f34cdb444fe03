import type { TableModel } from '../model/table-model';
import type { TableCatalog } from '../model/table-catalog';
import type { GatewayMetrics } from '../ops/metrics';
import type { BatchingWriter } from './batching-writer';

/**
 * What every protocol module calls: rows for one table, as objects keyed by column name.
 * All rows are encoded (and so type-checked) before any is queued, so a bad value refuses
 * the whole request with nothing written; then the request goes to its table's store as
 * one unit and the promise settles when it is committed.
 */
export class Ingest {
  constructor(
    readonly catalog: TableCatalog,
    private readonly writers: { postgresql: BatchingWriter; clickhouse: BatchingWriter },
    private readonly metrics: GatewayMetrics,
  ) {}

  async writeRows(protocol: string, tableName: string, rows: ArrayLike<Record<string, unknown>>): Promise<number> {
    const table = await this.catalog.get(tableName);
    return this.writeTo(protocol, table, rows);
  }

  async writeTo(protocol: string, table: TableModel, rows: ArrayLike<Record<string, unknown>>): Promise<number> {
    if (rows.length === 0) return 0;
    const lines: string[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) lines[i] = table.encodeRow(rows[i], i + 1);
    const data = Buffer.from(lines.join(''), 'utf8');
    await this.writers[table.target].write(table, { data, rows: rows.length });
    this.metrics.rowsAccepted.inc({ protocol, table: table.spec.table }, rows.length);
    return rows.length;
  }

  pending(): { postgresql: number; clickhouse: number } {
    return { postgresql: this.writers.postgresql.pending, clickhouse: this.writers.clickhouse.pending };
  }
}
