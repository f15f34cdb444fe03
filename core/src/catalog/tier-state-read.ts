import type { TieredTableSpec } from '../model/tiered-table';

/**
 * What a reader of tiered tables needs of each one, in its own snapshot: W, the committed
 * and excluded generations (which cold rows are visible), the registered spec (a column
 * added since a cached catalog was read must be planned for now), and whether the hot
 * table has row-level security (which the cold tier cannot apply). $1: the table names as
 * a text[] literal. Every value comes back as text, so any PostgreSQL client reads it.
 */
export const READ_TIER_STATE_SQL = `SELECT s.table_name, extract(epoch FROM s.watermark)::text, s.watermark::text, s.committed_gen::text,
        s.excluded_gens::text, r.schema::text,
        coalesce((SELECT c.relrowsecurity FROM pg_catalog.pg_class c
                   WHERE c.oid = to_regclass(format('%I.%I', r.schema->>'schema', s.table_name))), false)::text
   FROM strata.tier_state s JOIN strata.table_registry r USING (table_name) WHERE s.table_name = ANY($1::text[])`;

export interface TierStateRead {
  table: string;
  /** W as seconds since the epoch, PostgreSQL's text (`-Infinity` when nothing moved yet). */
  watermarkEpoch: string;
  /** W as PostgreSQL prints it in the reader's session. */
  watermarkText: string;
  committedGen: bigint;
  excludedGens: bigint[];
  spec: TieredTableSpec;
  rowSecurity: boolean;
}

/** One row of READ_TIER_STATE_SQL. */
export function tierStateFromRow(row: ReadonlyArray<string | null>): TierStateRead {
  const [table, epoch, text, committed, excluded, spec, rls] = row;
  return {
    table: table!,
    watermarkEpoch: epoch!,
    watermarkText: text!,
    committedGen: BigInt(committed!),
    excludedGens: (excluded ?? '{}')
      .replace(/[{}]/g, '')
      .split(',')
      .filter((g) => g !== '')
      .map((g) => BigInt(g)),
    spec: JSON.parse(spec!) as TieredTableSpec,
    rowSecurity: rls === 'true',
  };
}

/** A text[] literal of identifiers-or-names, for `= ANY($1::text[])`. */
export function pgTextArrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}
