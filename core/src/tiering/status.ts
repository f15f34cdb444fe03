import type { Client } from 'pg';
import type { ColdStore } from '../cold/cold-store';
import { getTierState, listRegisteredTables } from '../catalog/catalog';
import { quarantinedCounts } from '../catalog/quarantine';
import { rawTableName, type ColdTarget } from '../ddl/clickhouse';
import { hotTable } from '../ddl/postgres';
import { chQualified } from '../ddl/sql';
import { defaultTarget } from './tierer';
import { visibleGenerationsSql } from './visibility';

export interface TableStatus {
  table: string;
  mode: string;
  watermark: string;
  rowsHot: number | null;
  rowsCold: number | null;
  /** How far W trails its target (now − hot.retention), in seconds; 0 when caught up. */
  lagSeconds: number | null;
  lastRun: { startedAt: string | null; finishedAt: string | null; rows: number | null; durationMs: number | null; error: string | null };
  totalRowsMoved: number;
  /** Rows in strata.quarantine for this table (set aside by runs, not yet dealt with); null if this role may not read it. */
  rowsQuarantined: number | null;
}

/**
 * Rows per tier as a reader sees them: PostgreSQL's rows and ClickHouse's visible
 * rows below W, read against one catalog snapshot (REPEATABLE READ).
 */
export async function tableStatuses(hot: Client, cold: ColdStore | undefined, target: ColdTarget, now = new Date()): Promise<TableStatus[]> {
  await hot.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const out: TableStatus[] = [];
    const quarantined = await quarantinedCounts(hot);
    for (const spec of await listRegisteredTables(hot)) {
      const state = await getTierState(hot, spec.table);
      if (!state) continue;
      let rowsHot: number | null = null;
      if (spec.mode !== 'cold-only') {
        const r = await hot.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${hotTable(spec)}`);
        rowsHot = Number(r.rows[0].n);
      }
      let rowsCold: number | null = null;
      if (spec.mode !== 'hot-only' && cold) {
        const r = await cold.query<{ n: string }>(
          `SELECT count() AS n FROM ${chQualified(target.database, rawTableName(spec))} WHERE ${visibleGenerationsSql(state)}`,
        );
        rowsCold = Number(r[0].n);
      }
      const lag =
        spec.mode === 'hot-then-cold'
          ? Math.max(0, (defaultTarget(spec, now).getTime() - (state.watermark?.getTime() ?? 0)) / 1000)
          : null;
      out.push({
        table: spec.table,
        mode: spec.mode,
        watermark: state.watermark ? state.watermark.toISOString() : state.watermarkText,
        rowsHot,
        rowsCold,
        lagSeconds: lag === null ? null : Math.round(lag),
        lastRun: {
          startedAt: state.lastStartedAt?.toISOString() ?? null,
          finishedAt: state.lastFinishedAt?.toISOString() ?? null,
          rows: state.lastRows,
          durationMs: state.lastDurationMs,
          error: state.lastError,
        },
        totalRowsMoved: state.totalRowsMoved,
        rowsQuarantined: quarantined ? (quarantined.get(spec.table) ?? 0) : null,
      });
    }
    return out;
  } finally {
    await hot.query('COMMIT');
  }
}
