import { BufferWriter } from './buffer-writer';
import { StartupCode } from './message-codes';

/** SSLRequest: the server answers one byte, 'S' (then TLS) or 'N'. */
export const SSL_REQUEST = new BufferWriter().int32(StartupCode.sslRequest).untypedFrame();
export const SSL_ACCEPT = Buffer.from('S');
export const SSL_REFUSE = Buffer.from('N');
