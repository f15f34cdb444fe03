import { constantFrame } from './buffer-writer';
import { Frontend } from './message-codes';

/** CopyDone ('c', both directions). */
export const COPY_DONE = constantFrame(Frontend.copyDone);
