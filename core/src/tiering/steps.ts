/** The observable steps of one tiering run, in order. Progress output, metrics and the fault tests key on these. */
export const TIER_STEPS = {
  locked: 'locked',
  begun: 'begun',
  copyBatch: 'copy-batch',
  copied: 'copied',
  verified: 'verified',
  rollups: 'rollups',
  committed: 'committed',
  dropped: 'dropped',
  done: 'done',
} as const;
export type TierStep = (typeof TIER_STEPS)[keyof typeof TIER_STEPS];

export interface TierProgress {
  step: TierStep;
  table: string;
  gen?: string;
  rows?: number;
  bytes?: number;
  watermark?: string;
  detail?: string;
}

/** Awaited at every step: progress output, and in tests a place to pause or die. */
export type TierHook = (p: TierProgress) => void | Promise<void>;
