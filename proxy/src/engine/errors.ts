import { ColdStoreError } from '@strata/core';
import { SqlStateError } from './contract';

/** SQLSTATEs the engine raises itself. */
export const ENGINE_SQLSTATE = {
  featureNotSupported: '0A000',
  coldTierFailure: '58030',
  internal: 'XX000',
} as const;

/**
 * ClickHouse's FUNCTION_THROW_IF_VALUE_IS_NON_ZERO. The engine's only `throwIf`s are the
 * float overflow checks of whole aggregates (whole-aggregate.ts, whole-regression.ts),
 * where PostgreSQL raises 22003 "value out of range: overflow": the same error, not a
 * cold-tier failure.
 */
const CLICKHOUSE_THROW_IF = 395;

/** PostgreSQL's own errors keep their SQLSTATE and fields; cold-tier failures get one. */
export function toSqlStateError(err: unknown): unknown {
  if (err instanceof SqlStateError) return err;
  const e = err as { code?: unknown; message?: string; detail?: string; hint?: string; severity?: string };
  if (typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === 'string') {
    return new SqlStateError(e.code, e.message ?? 'error', e.detail, e.hint, { cause: err });
  }
  if (err instanceof ColdStoreError && err.clickhouseCode === CLICKHOUSE_THROW_IF) {
    return new SqlStateError('22003', 'value out of range: overflow', undefined, undefined, { cause: err });
  }
  if (err instanceof ColdStoreError) {
    // ColdStoreError messages carry no SQL or parameters.
    return new SqlStateError(ENGINE_SQLSTATE.coldTierFailure, `cold tier (ClickHouse) failed: ${err.message}`, undefined, undefined, { cause: err });
  }
  return err;
}

/**
 * What the engine refuses, as a short fixed name: the label of the refusals metric (a
 * bounded set, so never text from the statement).
 */
export type RefusedConstruct =
  | 'unapplied-table'
  | 'route-setting-in-string'
  | 'non-select-in-string'
  | 'type-change'
  | 'row-level-security'
  | 'materialized-view'
  | 'locking-clause'
  | 'modify-cold-rows'
  | 'sql-prepare'
  | 'explain-analyze'
  | 'explain-format';

/** SQLSTATE 0A000 naming what Strata cannot answer exactly. */
export class RefusedError extends SqlStateError {
  constructor(
    readonly construct: RefusedConstruct,
    what: string,
    detail?: string,
  ) {
    super(ENGINE_SQLSTATE.featureNotSupported, `Strata cannot answer this exactly across tiers: ${what}`, detail);
  }
}

export function notSupported(construct: RefusedConstruct, what: string, detail?: string): RefusedError {
  return new RefusedError(construct, what, detail);
}
