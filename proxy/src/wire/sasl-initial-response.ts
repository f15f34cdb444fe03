import { BufferWriter } from './buffer-writer';
import { Frontend } from './message-codes';
import { MessageReader } from './message-reader';

/** SASLInitialResponse: mechanism name and the client-first-message. */
export interface SaslInitialResponse {
  mechanism: string;
  data: Buffer;
}

export function decodeSaslInitialResponse(frame: Buffer): SaslInitialResponse {
  const reader = new MessageReader(frame, 5);
  const mechanism = reader.cstring('SASL mechanism');
  const length = reader.int32('SASL data length');
  const data = length < 0 ? Buffer.alloc(0) : reader.bytes(length, 'SASL data');
  reader.end('SASLInitialResponse');
  return { mechanism, data };
}

export function encodeSaslInitialResponse(message: SaslInitialResponse, writer = new BufferWriter()): Buffer {
  return writer.cstring(message.mechanism).int32(message.data.length).bytes(message.data).frame(Frontend.password);
}
