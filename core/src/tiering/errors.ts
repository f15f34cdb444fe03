/** Errors of a tiering run, each with a stable code; `cause` keeps the driver's error. */
export const TIERING_ERROR_CODES = {
  locked: 'TIER_LOCKED',
  notRegistered: 'TIER_NOT_REGISTERED',
  verifyFailed: 'TIER_VERIFY_FAILED',
  hotStore: 'TIER_HOT_STORE',
  coldStore: 'TIER_COLD_STORE',
  notTiered: 'TIER_NOT_TIERED',
  readersBusy: 'TIER_READERS_BUSY',
} as const;
export type TieringErrorCode = (typeof TIERING_ERROR_CODES)[keyof typeof TIERING_ERROR_CODES];

export class TieringError extends Error {
  constructor(
    readonly code: TieringErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TieringError';
  }
}
