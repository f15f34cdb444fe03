import { ChParams } from '../translate/ch-params';
import { instantFromEpochText } from '../translate/instant';
import type { TimePredicate } from '../translate/time-predicate';
import type { ColdSpan } from './cold-spans';
import { coldTimeConditions } from './cold-time-conditions';

const W = instantFromEpochText('1767571200'); // 2026-01-05T00:00:00Z
const before = instantFromEpochText('1767528000'); // W − 12 h
const after = instantFromEpochText('1767614400'); // W + 12 h
const cmp = (op: '<' | '<=' | '>' | '>=' | '=', bound: number, slack = false): TimePredicate => ({ kind: 'cmp', op, bound, ...(slack ? { slack } : {}) });

function sent(predicates: TimePredicate[], values = [before, after, W], span?: ColdSpan) {
  const params = new ChParams('b');
  return { sql: coldTimeConditions(predicates, values, W, 'time', params, span), params: Object.values(params.values) };
}

describe('coldTimeConditions: time predicates every visible cold row (all below W) meets are not sent', () => {
  it('sends no `time < W`: the generation predicate already admits only rows below W', () => {
    expect(sent([]).sql).toEqual([]);
  });

  it('drops upper bounds at or above W, keeps those below it and every lower bound', () => {
    expect(sent([cmp('<=', 1)]).sql).toEqual([]);
    expect(sent([cmp('<', 2)]).sql).toEqual([]); // < W exactly
    expect(sent([cmp('<=', 2)]).sql).toEqual([]);
    expect(sent([cmp('<', 0)]).sql).toEqual(["`time` < {b0:DateTime64(6, 'UTC')}"]);
    expect(sent([cmp('>=', 0)]).params).toEqual(['2026-01-04 12:00:00.000000']);
    expect(sent([cmp('=', 1)]).sql).toHaveLength(1);
  });

  it('a BETWEEN reaching past W keeps its lower bound only', () => {
    const r = sent([{ kind: 'and', args: [cmp('>=', 0), cmp('<=', 1)] }]);
    expect(r.sql).toEqual(["`time` >= {b0:DateTime64(6, 'UTC')}"]);
    expect(r.params).toEqual(['2026-01-04 12:00:00.000000']);
  });

  it('OR: dropped when one branch holds below W; slack bounds by the range actually sent', () => {
    expect(sent([{ kind: 'or', args: [cmp('<', 1), cmp('>', 0)] }]).sql).toEqual([]);
    expect(sent([{ kind: 'or', args: [cmp('<', 0), cmp('>', 1)] }]).sql).toHaveLength(1);
    // An approximate bound is sent widened by two days on both sides: `<= W − 12 h` reaches past W.
    expect(sent([cmp('<=', 0, true)]).sql).toEqual([]);
    expect(sent([cmp('>=', 0, true)]).sql).toHaveLength(1);
  });
});

describe('coldTimeConditions with the span of the visible cold rows (cold-spans.ts)', () => {
  const HOUR = 3_600_000_000n;
  const day = W - 24n * HOUR;
  // Visible cold rows from W − 24 h to W − 2 h.
  const span: ColdSpan = { lo: day, hi: W - 2n * HOUR };
  const at = (...v: bigint[]) => v;

  it('leaves out a lower bound at or below the first visible row, keeps one above it', () => {
    expect(sent([cmp('>=', 0)], at(day), span).sql).toEqual([]);
    expect(sent([cmp('>', 0)], at(day - 1n), span).sql).toEqual([]);
    expect(sent([cmp('>', 0)], at(day), span).sql).toHaveLength(1); // the first row itself fails `>`
    expect(sent([cmp('>=', 0)], at(day + 1n), span).sql).toHaveLength(1);
  });

  it('leaves out an upper bound above the last visible row, also below W', () => {
    expect(sent([cmp('<', 0)], at(W - 2n * HOUR + 1n), span).sql).toEqual([]);
    expect(sent([cmp('<=', 0)], at(W - 2n * HOUR), span).sql).toEqual([]);
    expect(sent([cmp('<', 0)], at(W - 2n * HOUR), span).sql).toHaveLength(1); // the last row itself fails `<`
  });

  it('a BETWEEN around every visible row: nothing; a span reaching W is cut at W − 1 µs', () => {
    expect(sent([{ kind: 'and', args: [cmp('>=', 0), cmp('<=', 1)] }], at(day - HOUR, W - HOUR), span).sql).toEqual([]);
    const toW: ColdSpan = { lo: day, hi: W + HOUR }; // rows of an uncommitted run above W widen the span
    expect(sent([cmp('<=', 0)], at(W - 1n), toW).sql).toEqual([]);
    expect(sent([cmp('<', 0)], at(W - 1n), toW).sql).toHaveLength(1);
  });

  it('without a span, as before: no lower bound is left out', () => {
    expect(sent([cmp('>=', 0)], at(day)).sql).toHaveLength(1);
    // An upper bound at W − 1 µs, inclusive: every instant below W meets it (whole µs).
    expect(sent([cmp('<=', 0)], at(W - 1n)).sql).toEqual([]);
  });
});
