import { constantFrame } from './buffer-writer';
import { Frontend } from './message-codes';

/** Sync ends an extended-protocol batch; the server answers ReadyForQuery. */
export const SYNC = constantFrame(Frontend.sync);
