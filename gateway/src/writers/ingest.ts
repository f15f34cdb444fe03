import type { ColumnSpec } from '@strata/core';
import { GatewayError, GATEWAY_ERROR_CODES } from '../errors';
import { isNdjsonContentType, parseJsonRows } from '../http/body';
import { jsonRowsTranscoder, type EncodedRows } from '../model/json-copy';
import { perModel } from '../model/per-model';
import { newColumnsFor } from '../model/new-columns';
import { NewFieldsError, type TableModel } from '../model/table-model';
import type { TableCatalog } from '../model/table-catalog';
import type { GatewayMetrics } from '../ops/metrics';
import type { BatchingWriter } from './batching-writer';

/** Adds columns to a table (both tiers, registry, TieredTable) and returns its new model. */
export type AddColumns = (table: string, columns: ColumnSpec[]) => Promise<TableModel>;

/**
 * Evolutions one request may trigger: one normally; more only when the table changes
 * under it (another request's columns, a new policy), which cannot go on for long.
 */
const MAX_EVOLUTIONS = 3;

/**
 * What every protocol module calls: rows for one table, as objects keyed by column name.
 * All rows are encoded (and so type-checked) before any is queued, so a bad value refuses
 * the whole request with nothing written; then the request goes to its table's store as
 * one unit and the promise settles when it is committed. Under the addColumns policy,
 * fields without a column first evolve the table; the rows are queued only once every
 * field has its column, so a request is never written in part.
 */
export class Ingest {
  constructor(
    readonly catalog: TableCatalog,
    private readonly writers: { postgresql: BatchingWriter; clickhouse: BatchingWriter },
    private readonly metrics: GatewayMetrics,
    private readonly addColumns?: AddColumns,
  ) {}

  async writeRows(protocol: string, tableName: string, rows: ArrayLike<Record<string, unknown>>): Promise<number> {
    const table = await this.catalog.get(tableName);
    return this.writeTo(protocol, table, rows);
  }

  /**
   * A request body that a hot path may encode straight to COPY text (model/json-copy.ts,
   * protocols/otlp-metrics-copy.ts); when it declines, `rows` decodes the body into row
   * objects for the general path (type checks, new columns, every error message).
   */
  async writeBody(protocol: string, tableName: string, encode: (table: TableModel) => EncodedRows | undefined, rows: () => ArrayLike<Record<string, unknown>>): Promise<number> {
    const table = await this.catalog.get(tableName);
    const encoded = encode(table);
    if (!encoded) return this.writeTo(protocol, table, rows());
    if (encoded.rows === 0) return 0;
    await this.writers[table.target].write(table, encoded);
    this.metrics.rowsAccepted.inc({ protocol, table: table.spec.table }, encoded.rows);
    return encoded.rows;
  }

  /** A JSON body of rows (array, object or NDJSON). */
  writeJsonBody(protocol: string, tableName: string, body: Buffer, contentType: string | undefined): Promise<number> {
    const framing = isNdjsonContentType(contentType) ? 'ndjson' : 'json';
    return this.writeBody(
      protocol,
      tableName,
      (table) => jsonTranscoderOf(table)?.(body, framing),
      () => parseJsonRows(body, contentType),
    );
  }

  async writeTo(protocol: string, table: TableModel, rows: ArrayLike<Record<string, unknown>>): Promise<number> {
    if (rows.length === 0) return 0;
    let model = table;
    let data: Buffer | undefined;
    for (let evolutions = 0; data === undefined; evolutions++) {
      try {
        data = encode(model, rows);
      } catch (err) {
        if (!(err instanceof NewFieldsError) || !this.addColumns) throw err;
        if (evolutions === MAX_EVOLUTIONS) {
          throw new GatewayError(GATEWAY_ERROR_CODES.storeUnavailable, 503, `table ${model.spec.table} kept changing while columns were added for this request; retry`);
        }
        model = await this.addColumns(model.spec.table, newColumnsFor(model, rows));
      }
    }
    await this.writers[model.target].write(model, { data, rows: rows.length });
    this.metrics.rowsAccepted.inc({ protocol, table: model.spec.table }, rows.length);
    return rows.length;
  }

  pending(): { postgresql: number; clickhouse: number } {
    return { postgresql: this.writers.postgresql.pending, clickhouse: this.writers.clickhouse.pending };
  }
}

const jsonTranscoderOf = perModel(jsonRowsTranscoder);

function encode(table: TableModel, rows: ArrayLike<Record<string, unknown>>): Buffer {
  const lines: string[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) lines[i] = table.encodeRow(rows[i], i + 1);
  return Buffer.from(lines.join(''), 'utf8');
}
