import type { ColdIndexSpec } from '../model/tiered-table';
import { indexedColumn } from '../model/cold-index-rules';
import { chIdent, chLiteral } from './sql';

/**
 * spec.cold.indexes as ClickHouse DDL on the raw cold table. The indexed expression is
 * spelled exactly as the proxy spells the pushed condition (`msg`, `lower(msg)`), since
 * ClickHouse uses an index only for conditions over the same expression.
 */

/** `INDEX name expr TYPE t(args) [GRANULARITY g]`, as in CREATE TABLE and ADD INDEX. */
export function coldIndexDefinition(ix: ColdIndexSpec): string {
  const col = chIdent(indexedColumn(ix)!);
  const expr = ix.expression !== undefined ? `${ix.expression.startsWith('lower') ? 'lower' : 'upper'}(${col})` : col;
  const args = ix.type === 'text' ? [`tokenizer = ${chLiteral(ix.tokenizer ?? 'splitByNonAlpha')}`] : (ix.params ?? []).map(String);
  const type = args.length > 0 || ix.type === 'text' ? `${ix.type}(${args.join(', ')})` : ix.type;
  return `INDEX ${chIdent(ix.name)} ${expr} TYPE ${type}` + (ix.granularity !== undefined ? ` GRANULARITY ${ix.granularity}` : '');
}
