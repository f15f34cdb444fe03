import type { TieredTableSpec } from '@strata/core';
import { tieredSpec, type DifferentialBed } from './differential-bed';

/**
 * Tiered tables of special floats (-0, 0, NaN, NULL, ±Infinity) for differential tests of
 * PostgreSQL's float equality (-0 = 0, every NaN equal), whose cold tier also holds NaNs
 * PostgreSQL never stores.
 */

/**
 * time, a text host, a double precision f and a real r, then `more` columns (NULL in the
 * rows addColdNanVariants adds); cold rows by day.
 */
export function floatSpecialsSpec(table: string, more: Array<{ name: string; type: string }> = []): TieredTableSpec {
  return tieredSpec({
    table,
    timeColumn: 'time',
    columns: [
      { name: 'time', type: 'timestamptz' },
      { name: 'host', type: 'text' },
      { name: 'f', type: 'double precision' },
      { name: 'r', type: 'real' },
      ...more,
    ],
    hot: { chunkInterval: '1h', retention: '24h' },
    cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
  });
}

/** NaNs of other bits than tiering writes (`nan`): -nan (x86's 0/0 too), 0/0, another payload. */
export const NAN_VARIANTS = ['-nan', '0./0.', 'reinterpretAsFloat64(reinterpretAsUInt64(nan) + 1)'];

/**
 * Copies every cold row whose f is NaN, at a whole minute before `before` (UTC,
 * 'YYYY-MM-DD hh:mm:ss'), once per variant 1-3 s later: in ClickHouse with the variant's
 * bits (in r too where r is NaN), in the reference as PostgreSQL's NaN.
 */
export async function addColdNanVariants(bed: DifferentialBed, before: string): Promise<void> {
  const { fx, ref } = bed;
  const cold = `${fx.database}.${bed.table}`;
  for (const [i, nan] of NAN_VARIANTS.entries()) {
    await fx.cold.command(
      `INSERT INTO ${cold} (time, host, f, r, _strata_gen) SELECT time + INTERVAL ${i + 1} SECOND, host, ${nan}, if(isNaN(r), ${nan}, r), _strata_gen FROM ${cold} WHERE isNaN(f) AND toSecond(time) = 0 AND time < '${before}'`,
    );
    await ref.query(`INSERT INTO ${bed.reference} SELECT time + ${i + 1} * interval '1 second', host, f, r FROM ${bed.reference} WHERE f = 'NaN' AND extract(second FROM time) = 0 AND time < '${before}+00'`);
  }
}
