import type { ChParams } from '../translate/ch-params';
import type { Instant } from '../translate/instant';
import { FULL_RANGE, rangeOf, timePredicateToClickHouse, type TimePredicate } from '../translate/time-predicate';

/**
 * The time conditions of an occurrence's read of raw cold rows (issue 14, overhead).
 *
 * Every cold row the visibility predicate admits lies below W: a tiering run moves the
 * rows with time < its target W' and commits W' with its generation in one PostgreSQL
 * transaction, W never moves back (core/src/tiering/tierer.ts), and rows of generations
 * that never committed (a run still copying, a run that died) fail the generation
 * predicate. So `time < W`, and any time predicate every instant below W satisfies (a
 * Grafana range ending now, at or above W), decide nothing there — yet each costs
 * ClickHouse a comparison per row it reads (measured ~5 ns a row, ~10 ms CPU per 2M rows,
 * about a tenth of a grouped read). Only such predicates are left out; the rest are sent
 * as written. Rollup reads keep `time < W` (rollup-plan.ts reasons about their edges).
 */
export function coldTimeConditions(predicates: TimePredicate[], values: Instant[], watermark: Instant, column: string, params: ChParams): string[] {
  return predicates
    .flatMap(conjunctsOf)
    .filter((p) => !holdsBelow(p, values, watermark))
    .map((p) => timePredicateToClickHouse(p, values, column, params));
}

/** A BETWEEN is an AND of two bounds: each is judged on its own. */
function conjunctsOf(p: TimePredicate): TimePredicate[] {
  return p.kind === 'and' ? p.args.flatMap(conjunctsOf) : [p];
}

/** The predicate accepts every instant below `w` (ranges of `cmp` are exact, also with slack: that is what is sent). */
function holdsBelow(p: TimePredicate, values: Instant[], w: Instant): boolean {
  switch (p.kind) {
    case 'and':
      return p.args.every((a) => holdsBelow(a, values, w));
    case 'or':
      return p.args.some((a) => holdsBelow(a, values, w));
    case 'cmp': {
      const r = rangeOf(p, values);
      return r.lo === FULL_RANGE.lo && r.hi >= w;
    }
  }
}
