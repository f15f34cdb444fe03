import type { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import xxhash from 'xxhash-wasm';
import type { TieredTableSpec } from '../model/tiered-table';
import type { ColdStore } from '../cold/cold-store';
import type { TierState } from '../catalog/catalog';
import { tieredColumns } from '../ddl/column-types';
import { rawTableName, type ColdTarget } from '../ddl/clickhouse';
import { pgIdent, pgQualified, chQualified } from '../ddl/sql';
import { CopyBinaryToTsv } from './copy-binary-to-tsv';
import { codecFor } from './pg-binary-codecs';
import { chChecksumSql, parseChChecksum, type Checksum } from './row-checksum';
import { visibleGenerationsSql } from './visibility';

/**
 * Whole-table checksums on each tier, for verification (`strata verify`, the tests):
 * the sums are additive, so hot + cold must equal a reference holding every row.
 */

export async function hotChecksum(db: Client, spec: TieredTableSpec, relation = pgQualified(spec.schema, spec.table)): Promise<Checksum> {
  const columns = tieredColumns(spec);
  const x = await xxhash();
  const conv = new CopyBinaryToTsv(columns.map((c) => codecFor(c.pg, (b) => x.h32Raw(b, 0))), Buffer.alloc(0));
  const stream = db.query(copyTo(`COPY (SELECT ${columns.map((c) => pgIdent(c.name)).join(', ')} FROM ${relation}) TO STDOUT (FORMAT binary)`));
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    conv.write(chunk);
    conv.out.length = 0; // only the checksum is wanted
  }
  conv.end();
  return { rows: conv.checksum.rows, sumA: conv.checksum.sumA, sumB: conv.checksum.sumB };
}

export async function coldChecksum(cold: ColdStore, target: ColdTarget, spec: TieredTableSpec, state: Pick<TierState, 'committedGen' | 'excludedGens'>): Promise<Checksum> {
  const rows = await cold.query<{ rows: string; sum_a: string; sum_b: string }>(
    chChecksumSql(tieredColumns(spec), `${chQualified(target.database, rawTableName(spec))} WHERE ${visibleGenerationsSql(state)}`),
  );
  return parseChChecksum(rows[0]);
}

export function addChecksums(a: Checksum, b: Checksum): Checksum {
  return { rows: a.rows + b.rows, sumA: (a.sumA + b.sumA) >>> 0, sumB: (a.sumB + b.sumB) >>> 0 };
}
