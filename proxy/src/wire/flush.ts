import { constantFrame } from './buffer-writer';
import { Frontend } from './message-codes';

/** Flush asks the server to send what it has buffered, without ending the batch. */
export const FLUSH = constantFrame(Frontend.flush);
