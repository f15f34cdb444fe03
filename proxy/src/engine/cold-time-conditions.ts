import type { ChParams } from '../translate/ch-params';
import type { ColdSpan } from './cold-spans';
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
 *
 * Where the engine knows the span of the visible cold rows (`span`, cold-spans.ts), a
 * predicate every instant of it below W satisfies is left out too: a Grafana range that
 * starts before the first tiered row, e.g.
 */
export function coldTimeConditions(predicates: TimePredicate[], values: Instant[], watermark: Instant, column: string, params: ChParams, span?: ColdSpan): string[] {
  const within = { lo: span?.lo ?? FULL_RANGE.lo, hi: span !== undefined && span.hi < watermark ? span.hi : watermark - 1n };
  return predicates
    .flatMap(conjunctsOf)
    .filter((p) => !holdsWithin(p, values, within))
    .map((p) => timePredicateToClickHouse(p, values, column, params));
}

/** A BETWEEN is an AND of two bounds: each is judged on its own. */
function conjunctsOf(p: TimePredicate): TimePredicate[] {
  return p.kind === 'and' ? p.args.flatMap(conjunctsOf) : [p];
}

/**
 * The predicate accepts every instant in [within.lo, within.hi] (µs, whole: an instant
 * below W is at most W − 1 µs). Ranges of `cmp` are exact, also with slack: that is what is sent.
 */
function holdsWithin(p: TimePredicate, values: Instant[], within: { lo: Instant; hi: Instant }): boolean {
  switch (p.kind) {
    case 'and':
      return p.args.every((a) => holdsWithin(a, values, within));
    case 'or':
      return p.args.some((a) => holdsWithin(a, values, within));
    case 'cmp': {
      const r = rangeOf(p, values);
      const fromBelow = r.lo === FULL_RANGE.lo || r.lo < within.lo || (r.lo === within.lo && r.loInclusive);
      const toAbove = r.hi > within.hi || (r.hi === within.hi && r.hiInclusive);
      return fromBelow && toAbove;
    }
  }
}
