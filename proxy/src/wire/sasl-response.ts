import { BufferWriter } from './buffer-writer';
import { Frontend } from './message-codes';

/** SASLResponse: the rest of the message is the mechanism's data (client-final-message). */
export function decodeSaslResponse(frame: Buffer): Buffer {
  return frame.subarray(5);
}

export function encodeSaslResponse(data: Uint8Array, writer = new BufferWriter()): Buffer {
  return writer.bytes(data).frame(Frontend.password);
}
