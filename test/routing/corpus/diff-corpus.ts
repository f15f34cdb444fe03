import type { ProxyApi } from './proxy-api';
import { compareOutcomes, formatOutcome, type Outcome } from './compare';
import type { CorpusEntry } from './corpus-file';
import type { CorpusRunner } from './runners';

export interface EntryResult {
  name: string;
  status: 'passed' | 'failed' | 'unsupported';
  reason?: string;
  report?: string;
}

export interface CorpusScore {
  passed: number;
  failed: number;
  unsupported: number;
  results: EntryResult[];
}

/** ORDER BY on the last statement's top level fixes the order; otherwise rows are a multiset. */
export function isOrdered(sql: string, api: Pick<ProxyApi, 'parseStatements'>): boolean {
  try {
    const stmts = api.parseStatements(sql);
    const last = stmts[stmts.length - 1]?.stmt?.SelectStmt;
    return (last?.sortClause?.length ?? 0) > 0;
  } catch {
    return false;
  }
}

export async function diffCorpus(
  entries: CorpusEntry[],
  reference: CorpusRunner,
  strata: CorpusRunner,
  api: Pick<ProxyApi, 'parseStatements'>,
): Promise<CorpusScore> {
  const score: CorpusScore = { passed: 0, failed: 0, unsupported: 0, results: [] };
  for (const e of entries) {
    const expected = await reference.run(e.sql);
    const actual = await strata.run(e.sql);
    if (!actual.ok && actual.code === '0A000' && expected.ok) {
      score.unsupported++;
      score.results.push({ name: e.name, status: 'unsupported', reason: actual.message });
      continue;
    }
    const why = compareOutcomes(expected, actual, isOrdered(e.sql, api));
    if (why === undefined) {
      score.passed++;
      score.results.push({ name: e.name, status: 'passed' });
    } else {
      score.failed++;
      score.results.push({
        name: e.name,
        status: 'failed',
        reason: why,
        report: `FAIL ${e.name}: ${why}\n${e.sql}\n reference:\n${formatOutcome(expected)}\n strata:\n${formatOutcome(actual)}`,
      });
    }
  }
  return score;
}

export function scoreLine(s: Pick<CorpusScore, 'passed' | 'failed' | 'unsupported'>): string {
  return `${s.passed} passed, ${s.failed} failed, ${s.unsupported} unsupported`;
}

/** A runner answering from outcomes computed beforehand (a driver run over the whole corpus). */
export function precomputedRunner(entries: CorpusEntry[], outcomes: Map<string, Outcome>): CorpusRunner {
  const bySql = new Map(entries.map((e) => [e.sql, outcomes.get(e.name)]));
  return {
    run: async (sql) => bySql.get(sql) ?? { ok: false, code: 'XX000', message: 'no outcome from the driver' },
    close: async () => undefined,
  };
}
