import type { Client, Pool } from 'pg';
import {
  applyTable,
  ApplyRefusedError,
  formatFieldError,
  TIERED_TABLE_API_VERSION,
  TIERED_TABLE_KIND,
  validateTieredTable,
  type ApplyResult,
  type ColdStore,
  type TieredTableSpec,
} from '@strata/core';
import { BadRequestError, GatewayError, GATEWAY_ERROR_CODES, StoreUnavailableError } from '../errors';
import type { TableCatalog } from '../model/table-catalog';
import type { TieredTableApplier } from './kube-tiered-tables';

/**
 * POST /schema/register: a table description into `strata.table_registry`, creating (or
 * evolving) both tiers through core's applyTable. Accepts a TieredTable spec, a whole
 * TieredTable resource, or the seed's shape:
 *   {"table_name": "t", "schema": {"columns": [{"name": "time", "type": "timestamp"}, …]}}
 * where the seed's short type names map to PostgreSQL ones and the first timestamp column
 * is the time column.
 */

const SEED_TYPES: Record<string, string> = {
  timestamp: 'timestamptz',
  datetime: 'timestamptz',
  time: 'timestamptz',
  double: 'double precision',
  float: 'double precision',
  number: 'double precision',
  int: 'bigint',
  integer: 'bigint',
  long: 'bigint',
  string: 'text',
  bool: 'boolean',
  boolean: 'boolean',
  json: 'jsonb',
};

export function specInputOf(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('expected a JSON object describing the table');
  const b = body as Record<string, unknown>;
  if (b.kind === TIERED_TABLE_KIND) return (b.spec ?? {}) as unknown;
  if (typeof b.table_name === 'string') {
    const schema = (b.schema ?? {}) as { columns?: unknown; timeColumn?: unknown; mode?: unknown };
    if (!Array.isArray(schema.columns)) throw new BadRequestError('schema.columns must be an array of {name, type}');
    const columns = (schema.columns as Array<{ name?: unknown; type?: unknown }>).map((c, i) => {
      if (typeof c?.name !== 'string' || typeof c?.type !== 'string') throw new BadRequestError(`schema.columns[${i}] needs a name and a type`);
      return { name: c.name, type: SEED_TYPES[c.type.toLowerCase()] ?? c.type };
    });
    const timeColumn = typeof schema.timeColumn === 'string' ? schema.timeColumn : columns.find((c) => c.type === 'timestamptz')?.name;
    if (!timeColumn) throw new BadRequestError('schema needs a timestamp column');
    const { table_name: _t, schema: _s, ...rest } = b;
    return { table: b.table_name, timeColumn, columns, mode: schema.mode ?? 'hot-then-cold', ...rest };
  }
  return b;
}

export interface RegisterResult extends ApplyResult {
  kubernetes: 'applied' | 'not configured';
}

export class SchemaRegistrar {
  /** One registration at a time: applyTable takes DDL locks and reads-then-writes the registry. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: { pool: Pool; cold: ColdStore; coldDatabase: string; catalog: TableCatalog; kube?: TieredTableApplier },
  ) {}

  register(body: unknown): Promise<RegisterResult> {
    const run = this.tail.then(() => this.registerNow(body));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async registerNow(body: unknown): Promise<RegisterResult> {
    const v = validateTieredTable(specInputOf(body));
    if (!v.ok) throw new BadRequestError(`invalid table: ${v.errors.map(formatFieldError).join('; ')}`);
    const spec = v.spec;
    const result = await this.apply(spec);
    this.deps.catalog.put(spec);
    if (!this.deps.kube) return { ...result, kubernetes: 'not configured' };
    await this.deps.kube.apply({
      apiVersion: TIERED_TABLE_API_VERSION,
      kind: TIERED_TABLE_KIND,
      metadata: { name: spec.table.replace(/_/g, '-') },
      spec,
    });
    return { ...result, kubernetes: 'applied' };
  }

  async apply(spec: TieredTableSpec): Promise<ApplyResult> {
    let client;
    try {
      client = await this.deps.pool.connect();
    } catch (err) {
      throw new StoreUnavailableError('postgresql', { cause: err });
    }
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    try {
      // applyTable runs BEGIN/COMMIT on the one connection it is given.
      return await applyTable({ hot: client as unknown as Client, cold: this.deps.cold, coldTarget: { database: this.deps.coldDatabase } }, spec);
    } catch (err) {
      if (err instanceof ApplyRefusedError) throw new GatewayError(GATEWAY_ERROR_CODES.badRequest, 409, err.message);
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}
