import { constantFrame } from './buffer-writer';
import { Backend } from './message-codes';

export const BIND_COMPLETE = constantFrame(Backend.bindComplete);
