import { GEN_COLUMN } from '../ddl/clickhouse';
import { chIdent } from '../ddl/sql';
import type { TierState } from '../catalog/catalog';

/**
 * Which cold rows a reader may see. A tiering run writes its rows to ClickHouse
 * tagged with its generation, then commits (watermark, generation) in PostgreSQL
 * in the same transaction that deletes the rows there. So in any PostgreSQL
 * snapshot, a row is in exactly one of: PostgreSQL, or ClickHouse with a committed
 * generation. Generations of crashed runs are excluded forever, even if a zombie
 * insert of theirs lands later.
 */
export function visibleGenerationsSql(state: Pick<TierState, 'committedGen' | 'excludedGens'>): string {
  const g = chIdent(GEN_COLUMN);
  const excluded = state.excludedGens.length > 0 ? ` AND ${g} NOT IN (${state.excludedGens.map(String).join(', ')})` : '';
  return `${g} <= ${state.committedGen.toString()}${excluded}`;
}
