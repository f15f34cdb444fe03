import { constantFrame } from './buffer-writer';
import { Backend } from './message-codes';

export const PARSE_COMPLETE = constantFrame(Backend.parseComplete);
