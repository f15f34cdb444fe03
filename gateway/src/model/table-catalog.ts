import type { Pool } from 'pg';
import { getRegisteredTable, type TieredTableSpec } from '@strata/core';
import { StoreUnavailableError, UnknownTableError } from '../errors';
import { jsonbText } from './jsonb-text';
import { tableModel, type TableModel } from './table-model';

/**
 * Table models read from `strata.table_registry`, cached briefly: a table registered or
 * evolved elsewhere (CLI, operator, another gateway) is picked up within `ttlMs`; one
 * registered through this gateway is picked up at once (`put`).
 */
export class TableCatalog {
  private readonly cache = new Map<string, { model: TableModel; at: number }>();

  constructor(
    private readonly pool: Pool,
    private readonly ttlMs = 5_000,
  ) {}

  async get(table: string): Promise<TableModel> {
    const hit = this.cache.get(table);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.model;
    const registered = await getRegisteredTable(this.pool, table).catch((err: unknown) => {
      if (hit) return { spec: hit.model.spec }; // PostgreSQL down: keep writing with what we knew; the COPY will tell.
      throw new StoreUnavailableError('postgresql', { cause: err });
    });
    if (!registered) throw new UnknownTableError(table);
    // jsonb reorders keys: compare canonical texts, so an unchanged spec keeps its model (and its batches).
    const model = hit && jsonbText(hit.model.spec) === jsonbText(registered.spec) ? hit.model : tableModel(registered.spec);
    this.cache.set(table, { model, at: Date.now() });
    return model;
  }

  /** The model of a spec this gateway just applied; an unchanged spec keeps its model. */
  put(spec: TieredTableSpec): TableModel {
    const hit = this.cache.get(spec.table);
    const model = hit && jsonbText(hit.model.spec) === jsonbText(spec) ? hit.model : tableModel(spec);
    this.cache.set(spec.table, { model, at: Date.now() });
    return model;
  }
}
