import { constantFrame } from './buffer-writer';
import { Backend } from './message-codes';

/** EmptyQueryResponse: the query string held no statement. */
export const EMPTY_QUERY_RESPONSE = constantFrame(Backend.emptyQueryResponse);
