import { BufferWriter } from './buffer-writer';
import { Backend } from './message-codes';
import { MessageReader } from './message-reader';
import type { CancelRequest } from './cancel-request';

/** BackendKeyData: the key a client later uses in CancelRequest. */
export function decodeBackendKeyData(frame: Buffer): CancelRequest {
  const reader = new MessageReader(frame, 5);
  return { processId: reader.int32('process id'), secretKey: reader.int32('secret key') };
}

export function encodeBackendKeyData(key: CancelRequest): Buffer {
  return new BufferWriter(16).int32(key.processId).int32(key.secretKey).frame(Backend.backendKeyData);
}
