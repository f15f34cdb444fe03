import { constantFrame } from './buffer-writer';
import { Backend } from './message-codes';

export const CLOSE_COMPLETE = constantFrame(Backend.closeComplete);
