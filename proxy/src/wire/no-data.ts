import { constantFrame } from './buffer-writer';
import { Backend } from './message-codes';

/** NoData: Describe of a statement that returns no rows. */
export const NO_DATA = constantFrame(Backend.noData);
