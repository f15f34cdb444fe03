import { BufferWriter } from './buffer-writer';
import { StartupCode } from './message-codes';

/** GSSENCRequest: Strata never offers GSSAPI encryption and answers 'N'. */
export const GSSENC_REQUEST = new BufferWriter().int32(StartupCode.gssEncRequest).untypedFrame();
export const GSSENC_REFUSE = Buffer.from('N');
