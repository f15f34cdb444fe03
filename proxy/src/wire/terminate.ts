import { constantFrame } from './buffer-writer';
import { Frontend } from './message-codes';

/** Terminate: the client is leaving. */
export const TERMINATE = constantFrame(Frontend.terminate);
