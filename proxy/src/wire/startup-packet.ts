import { decodeCancelRequest, type CancelRequest } from './cancel-request';
import { StartupCode } from './message-codes';
import { decodeStartupMessage, type StartupMessage } from './startup-message';

/** The first packet of a connection: which of the four untyped packets it is. */
export type StartupPacket = StartupMessage | { kind: 'ssl' } | { kind: 'gssenc' } | ({ kind: 'cancel' } & CancelRequest);

export function decodeStartupPacket(frame: Buffer): StartupPacket {
  const code = frame.readInt32BE(4);
  if (code === StartupCode.sslRequest && frame.length === 8) return { kind: 'ssl' };
  if (code === StartupCode.gssEncRequest && frame.length === 8) return { kind: 'gssenc' };
  if (code === StartupCode.cancelRequest) return { kind: 'cancel', ...decodeCancelRequest(frame) };
  return decodeStartupMessage(frame);
}
