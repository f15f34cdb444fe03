import type { Client, Pool, PoolClient } from 'pg';
import {
  applyTable,
  ApplyRefusedError,
  formatFieldError,
  getRegisteredTable,
  TIERED_TABLE_KIND,
  validateTieredTable,
  type ApplyResult,
  type ColdStore,
  type ColumnSpec,
  type TieredTableSpec,
} from '@strata/core';
import { BadRequestError, GatewayError, GATEWAY_ERROR_CODES, KubernetesError, UnknownTableError } from '../errors';
import type { TieredTableApplier, TieredTableRef } from '../kube/tiered-table-applier';
import type { TableCatalog } from '../model/table-catalog';
import type { TableModel } from '../model/table-model';
import { withPgClient } from '../writers/pg-client';

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
  /** The TieredTable kept for the table, or that none is (no Kubernetes configured). */
  kubernetes: TieredTableRef | 'not configured';
}

/** Session advisory lock key class for table DDL through the gateway (the tierer's lock is another). */
const SCHEMA_LOCK = 'strata.gateway.schema';

/**
 * Every change the gateway makes to a table: a registration (POST /schema/register) or
 * columns added for new row fields. One at a time in this process (applyTable takes DDL
 * locks and reads-then-writes the registry), and one at a time per table across gateway
 * replicas (an advisory lock held around the registry read and the apply).
 *
 * With Kubernetes, the TieredTable is first applied as a dry run (RBAC, CRD, CEL), so a
 * refusal leaves the tables untouched; then the tables change; then the TieredTable is
 * applied. If that last step fails the tables have changed all the same: the error says
 * so, and registering the table again (or its next change) applies the TieredTable.
 */
export class SchemaRegistrar {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: { pool: Pool; cold: ColdStore; coldDatabase: string; catalog: TableCatalog; kube?: TieredTableApplier },
  ) {}

  register(body: unknown): Promise<RegisterResult> {
    return this.serial(() => {
      const v = validateTieredTable(specInputOf(body));
      if (!v.ok) throw new BadRequestError(`invalid table: ${v.errors.map(formatFieldError).join('; ')}`);
      return this.withTableLock(v.spec.table, (client) => this.applyEverywhere(client, v.spec));
    });
  }

  /**
   * Adds `columns` (those still missing) to a registered table whose policy is
   * addColumns, and returns its current model. Concurrent callers adding the same column
   * all succeed: the registry is re-read under the lock, so later ones find it there.
   */
  addColumns(table: string, columns: ColumnSpec[]): Promise<TableModel> {
    return this.serial(() =>
      this.withTableLock(table, async (client) => {
        const registered = await getRegisteredTable(client, table);
        if (!registered) throw new UnknownTableError(table);
        const current = registered.spec;
        const known = new Set(current.columns.map((c) => c.name));
        const missing = columns.filter((c) => !known.has(c.name));
        // Nothing to add, or the policy changed meanwhile: the caller encodes again with the current model.
        if (missing.length === 0 || current.ingest?.unknownFields !== 'addColumns') return this.deps.catalog.put(current);
        const v = validateTieredTable({ ...current, columns: [...current.columns, ...missing] });
        if (!v.ok) {
          throw new BadRequestError(`cannot add ${missing.map((c) => `column ${c.name} (${c.type})`).join(', ')} to table ${table}: ${v.errors.map(formatFieldError).join('; ')}`);
        }
        await this.applyEverywhere(client, v.spec);
        return this.deps.catalog.put(v.spec);
      }),
    );
  }

  /** The tables alone, no TieredTable: the gateway's built-in tables at start. */
  apply(spec: TieredTableSpec): Promise<ApplyResult> {
    return this.serial(() => this.withTableLock(spec.table, (client) => this.applyTables(client, spec)));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async applyEverywhere(client: PoolClient, spec: TieredTableSpec): Promise<RegisterResult> {
    const kube = this.deps.kube;
    if (kube) await kube.check(spec);
    const result = await this.applyTables(client, spec);
    this.deps.catalog.put(spec);
    if (!kube) return { ...result, kubernetes: 'not configured' };
    try {
      return { ...result, kubernetes: await kube.apply(spec) };
    } catch (err) {
      throw err instanceof KubernetesError && result.action !== 'unchanged' ? err.afterTablesChanged(spec.table) : err;
    }
  }

  private async applyTables(client: PoolClient, spec: TieredTableSpec): Promise<ApplyResult> {
    try {
      // applyTable runs BEGIN/COMMIT on the one connection it is given.
      return await applyTable({ hot: client as unknown as Client, cold: this.deps.cold, coldTarget: { database: this.deps.coldDatabase } }, spec);
    } catch (err) {
      if (err instanceof ApplyRefusedError) throw new GatewayError(GATEWAY_ERROR_CODES.badRequest, 409, err.message);
      throw err;
    }
  }

  private withTableLock<T>(table: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    return withPgClient(this.deps.pool, async (client, discard) => {
      await client.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', [SCHEMA_LOCK, table]);
      try {
        return await fn(client);
      } finally {
        // A connection that cannot unlock is discarded, which ends its session and the lock.
        await client.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', [SCHEMA_LOCK, table]).catch(discard);
      }
    });
  }
}
