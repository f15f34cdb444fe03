import { performance } from 'node:perf_hooks';

/** One engine step of a statement: when it started and ended, in ms from the statement's start. */
export interface Step {
  label: string;
  startMs: number;
  endMs: number;
  detail?: string;
}

/**
 * EXPLAIN ANALYZE's record of where a statement's time went (explain-analyze.ts): each
 * engine step — the tier states' round trip, planning, the ClickHouse read, PostgreSQL's
 * share — with its own span. Steps can overlap (PostgreSQL aggregates the hot rows while
 * ClickHouse reads), so each is printed with its start and end, not only its length.
 */
export class StepTimes {
  private readonly origin = performance.now();
  readonly steps: Step[] = [];

  /** Runs `step` and records it; `detail` describes its result (rows, bytes). */
  async time<T>(label: string, step: () => Promise<T>, detail?: (result: T) => string | undefined): Promise<T> {
    const started = performance.now();
    const result = await step();
    this.record(label, started, detail?.(result));
    return result;
  }

  /** Records a step that started at `started` (performance.now()) and ends now. */
  record(label: string, started: number, detail?: string): void {
    this.steps.push({ label, startMs: started - this.origin, endMs: performance.now() - this.origin, detail });
  }

  /** Since the statement's start. */
  elapsedMs(): number {
    return performance.now() - this.origin;
  }

  /** One line a step, in the order they ended: `label: 3.214 ms (0.512–3.726)[; detail]`. */
  lines(indent = '  '): string[] {
    return this.steps.map((s) => `${indent}${s.label}: ${ms(s.endMs - s.startMs)} ms (${ms(s.startMs)}–${ms(s.endMs)})${s.detail ? `; ${s.detail}` : ''}`);
  }
}

/** As PostgreSQL's EXPLAIN ANALYZE prints times: three decimals. */
export function ms(value: number): string {
  return value.toFixed(3);
}

/** `trace.time(…)` where a statement is traced, else the step alone. */
export function traced<T>(trace: StepTimes | undefined, label: string, step: () => Promise<T>, detail?: (result: T) => string | undefined): Promise<T> {
  return trace ? trace.time(label, step, detail) : step();
}
