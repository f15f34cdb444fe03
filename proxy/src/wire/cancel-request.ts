import { BufferWriter } from './buffer-writer';
import { StartupCode } from './message-codes';
import { MessageReader } from './message-reader';

/** CancelRequest, sent on a fresh connection with the key from BackendKeyData. */
export interface CancelRequest {
  processId: number;
  secretKey: number;
}

export function decodeCancelRequest(frame: Buffer): CancelRequest {
  const reader = new MessageReader(frame, 8);
  const request = { processId: reader.int32('process id'), secretKey: reader.int32('secret key') };
  reader.end('cancel request');
  return request;
}

export function encodeCancelRequest(request: CancelRequest): Buffer {
  return new BufferWriter(16).int32(StartupCode.cancelRequest).int32(request.processId).int32(request.secretKey).untypedFrame();
}
