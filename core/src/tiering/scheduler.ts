import type { TieredTableSpec } from '../model/tiered-table';
import { parseDuration } from '../model/duration';
import { runTiering, type TiererDeps, type TierRunResult } from './tierer';
import type { TierHook } from './steps';

/**
 * Runs each hot-then-cold table's tiering every `tiering.every`, in-process (single-node
 * mode and the operator's in-process option). One run per table at a time: a tick that
 * finds the previous run still going is skipped, and runTiering's advisory lock keeps
 * other processes out. Runs are crash-safe, so stop() only waits for runs in flight.
 */
export interface TieringSchedulerOptions {
  deps: TiererDeps;
  /** The tables to schedule, re-read on every tick so applied changes take effect. */
  tables: () => Promise<TieredTableSpec[]>;
  onResult?: (result: TierRunResult) => void;
  onError?: (table: string, err: Error) => void;
  onStep?: TierHook;
  /** How often to look for tables and due runs. */
  tickMs?: number;
}

export interface TieringScheduler {
  /** Runs every due table now and resolves when those runs end (tests, `--demo`). */
  runDue(now?: Date): Promise<void>;
  stop(): Promise<void>;
}

export function startTieringScheduler(opts: TieringSchedulerOptions): TieringScheduler {
  const lastStart = new Map<string, number>();
  const inFlight = new Map<string, Promise<void>>();
  let stopped = false;

  async function runOne(spec: TieredTableSpec): Promise<void> {
    try {
      opts.onResult?.(await runTiering(opts.deps, { table: spec.table, onStep: opts.onStep }));
    } catch (err) {
      opts.onError?.(spec.table, err as Error);
    }
  }

  async function runDue(now = new Date()): Promise<void> {
    if (stopped) return;
    let specs: TieredTableSpec[];
    try {
      specs = await opts.tables();
    } catch (err) {
      opts.onError?.('*', err as Error);
      return;
    }
    const started: Promise<void>[] = [];
    for (const spec of specs) {
      if (spec.mode !== 'hot-then-cold' || inFlight.has(spec.table)) continue;
      const every = parseDuration(spec.tiering.every);
      const last = lastStart.get(spec.table);
      if (last !== undefined && now.getTime() - last < every) continue;
      lastStart.set(spec.table, now.getTime());
      const run = runOne(spec).finally(() => inFlight.delete(spec.table));
      inFlight.set(spec.table, run);
      started.push(run);
    }
    await Promise.all(started);
  }

  const timer = setInterval(() => void runDue(), opts.tickMs ?? 5_000);
  timer.unref();

  return {
    runDue,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all(inFlight.values());
    },
  };
}
