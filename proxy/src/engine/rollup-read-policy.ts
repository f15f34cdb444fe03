import type { ColdStore } from '@strata/core';
import { RollupCoverageCache } from './rollup-coverage';
import { RollupDensity } from './rollup-density';

/**
 * When the engine reads a rollup (rollup-reads.ts): by default wherever one covers the
 * statement (a session may `SET strata.rollups = off`), only where it stands for enough
 * raw rows (rollup-density.ts), and with what it covers known beforehand
 * (rollup-coverage.ts). One per engine: both caches are shared by its sessions.
 */
export class RollupReadPolicy {
  /** Rollups are read where the session sets no `strata.rollups` (engine option rollupReads). */
  readonly readByDefault: boolean;
  readonly density: RollupDensity;
  readonly coverage: RollupCoverageCache;

  constructor(cold: ColdStore, database: string, opts: { minRowsPerRollupRow: number; readByDefault: boolean }) {
    this.readByDefault = opts.readByDefault;
    this.density = new RollupDensity(cold, database, opts.minRowsPerRollupRow);
    this.coverage = new RollupCoverageCache(cold, database);
  }
}
