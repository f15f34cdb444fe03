import type { TieredTableSpec } from '../model/tiered-table';
import { normalizePgType } from '../model/pg-types';

/**
 * What re-applying a spec over the registered one means. Pure: the caller executes it.
 * Anything that would silently rewrite or lose data in either tier is refused with
 * the reason, never half-applied.
 */
export interface ChangePlan {
  unchanged: boolean;
  addColumns: string[];
  addRollups: string[];
  /** Rollups in the current spec and not in the next (no longer built; their ClickHouse tables are kept). */
  removeRollups: string[];
  coldTtlChanged: boolean;
  chunkIntervalChanged: boolean;
  compressionChanged: boolean;
  addIndexes: boolean;
  /** spec.cold.indexes to add, and to drop (a changed index is both: ClickHouse has no ALTER INDEX). */
  addColdIndexes: string[];
  dropColdIndexes: string[];
  refusals: string[];
}

// The registered spec comes back from JSONB, which reorders object keys and drops
// undefined members, so specs compare by value with keys sorted, not by text.
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = canonical(v);
  }
  return out;
}

const same = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

export function planChanges(current: TieredTableSpec, next: TieredTableSpec): ChangePlan {
  const refusals: string[] = [];
  const immutable: Array<[string, unknown, unknown]> = [
    ['schema', current.schema, next.schema],
    ['timeColumn', current.timeColumn, next.timeColumn],
    ['mode', current.mode, next.mode],
    ['cold.orderBy', current.cold.orderBy, next.cold.orderBy],
    ['cold.partitionBy', current.cold.partitionBy, next.cold.partitionBy],
    ['cold.cluster', current.cold.cluster, next.cold.cluster],
  ];
  for (const [field, a, b] of immutable) {
    if (!same(a, b)) refusals.push(`spec.${field} cannot change (${JSON.stringify(a)} → ${JSON.stringify(b)}): it would need both tiers rewritten; create a new table and backfill instead`);
  }

  const nextCols = new Map(next.columns.map((c) => [c.name, c]));
  for (const c of current.columns) {
    const n = nextCols.get(c.name);
    if (!n) {
      refusals.push(`spec.columns: removing column "${c.name}" is not supported (it would drop its data in both tiers)`);
      continue;
    }
    if (normalizePgType(c.type).pgName !== normalizePgType(n.type).pgName) {
      refusals.push(`spec.columns: column "${c.name}" cannot change type (${c.type} → ${n.type}); add a new column instead`);
    }
    if (Boolean(c.notNull) !== Boolean(n.notNull)) {
      refusals.push(`spec.columns: column "${c.name}" cannot change notNull (rows already stored may violate it)`);
    }
  }
  const known = new Set(current.columns.map((c) => c.name));
  const addColumns = next.columns.filter((c) => !known.has(c.name)).map((c) => c.name);
  for (const name of addColumns) {
    if (nextCols.get(name)!.notNull) refusals.push(`spec.columns: added column "${name}" cannot be notNull (existing rows have no value for it)`);
  }

  const currentRollups = new Map(current.rollups.map((r) => [r.name, r]));
  const addRollups: string[] = [];
  for (const r of next.rollups) {
    const old = currentRollups.get(r.name);
    if (!old) addRollups.push(r.name);
    else if (!same({ ...old, retention: undefined }, { ...r, retention: undefined })) {
      refusals.push(`spec.rollups: rollup "${r.name}" cannot change its interval, groupBy or aggregates; add a rollup with a new name`);
    }
  }

  const nextRollups = new Set(next.rollups.map((r) => r.name));
  const removeRollups = current.rollups.filter((r) => !nextRollups.has(r.name)).map((r) => r.name);

  const currentIndexes = new Map((current.cold.indexes ?? []).map((ix) => [ix.name, ix]));
  const nextIndexes = new Map((next.cold.indexes ?? []).map((ix) => [ix.name, ix]));
  const changedIndex = (name: string) => currentIndexes.has(name) && nextIndexes.has(name) && !same(currentIndexes.get(name), nextIndexes.get(name));
  const addColdIndexes = [...nextIndexes.keys()].filter((n) => !currentIndexes.has(n) || changedIndex(n));
  const dropColdIndexes = [...currentIndexes.keys()].filter((n) => !nextIndexes.has(n) || changedIndex(n));

  return {
    unchanged: same(current, next),
    addColumns,
    addRollups,
    removeRollups,
    coldTtlChanged: current.cold.retention !== next.cold.retention,
    chunkIntervalChanged: current.hot.chunkInterval !== next.hot.chunkInterval,
    compressionChanged: !same(current.hot.compression ?? null, next.hot.compression ?? null),
    addIndexes: !same(current.hot.indexes ?? [], next.hot.indexes ?? []),
    addColdIndexes,
    dropColdIndexes,
    refusals,
  };
}
