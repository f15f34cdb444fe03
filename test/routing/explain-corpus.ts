import type { PlanClass } from '@strata/proxy';
import type { CorpusBed } from './corpus/corpus-bed';
import type { CorpusEntry } from './corpus/corpus-file';
import type { ProxyApi } from './corpus/proxy-api';
import { connectEngineRunner } from './corpus/runners';

/**
 * `make explain-corpus`: each corpus entry's plan class at a watermark, as the engine
 * decides it — the entry's last statement is run as `EXPLAIN` through the router and
 * engine (statements before it, such as SET TimeZone, run as the corpus runs them), and
 * the class is read from the `Strata plan class:` line the engine's planner
 * (engine/plan-class.ts) wrote. Nothing here re-implements planning.
 */
export interface ExplainedEntry {
  watermark: string;
  name: string;
  /** `not-tiered`: the statement reads no tiered table (PostgreSQL's own EXPLAIN); `error`: EXPLAIN failed. */
  planClass: PlanClass | 'not-tiered' | 'error';
  route?: string;
  error?: string;
}

const CLASS_LINE = /^Strata plan class: (\S+)$/;
const ROUTE_LINE = /^Strata route: (\S+)$/;

/** The entry's string with its last statement EXPLAINed. */
export function explainText(api: Pick<ProxyApi, 'parseStatements'>, sql: string): string {
  const stmts = api.parseStatements(sql);
  return stmts.map((s, i) => (i === stmts.length - 1 ? `EXPLAIN ${s.text}` : s.text)).join('; ');
}

/** Tiers the bed to each watermark in turn (W moves forward only) and explains every entry there. */
export async function explainCorpus(bed: CorpusBed, api: ProxyApi, entries: CorpusEntry[], watermarks: readonly string[]): Promise<ExplainedEntry[]> {
  const out: ExplainedEntry[] = [];
  for (const watermark of watermarks) {
    await bed.tierTo(watermark);
    const runner = await connectEngineRunner(bed.tiered.pgUrl, bed.router, bed.engine, api);
    try {
      for (const e of entries) {
        const r = await runner.run(explainText(api, e.sql));
        if (!r.ok) {
          out.push({ watermark, name: e.name, planClass: 'error', error: `${r.code} ${r.message}` });
          continue;
        }
        const lines = r.rows.map((row) => String(row[0]));
        const planClass = lines.map((l) => CLASS_LINE.exec(l)?.[1]).find((c) => c !== undefined) as PlanClass | undefined;
        const route = lines.map((l) => ROUTE_LINE.exec(l)?.[1]).find((c) => c !== undefined);
        out.push({ watermark, name: e.name, planClass: planClass ?? 'not-tiered', route });
      }
    } finally {
      await runner.close();
    }
  }
  return out;
}

/** Share of entries (over every watermark) answered without copying raw cold rows into PostgreSQL; an error counts against it. */
export function noFallbackShare(results: ExplainedEntry[]): number {
  if (results.length === 0) return 0;
  return results.filter((r) => r.planClass !== 'raw' && r.planClass !== 'error').length / results.length;
}

/** Entries per class, in the order of PLAN_CLASSES, then the others. */
export function classCounts(results: ExplainedEntry[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.planClass] = (counts[r.planClass] ?? 0) + 1;
  return counts;
}
