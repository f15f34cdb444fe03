import { BufferWriter } from './buffer-writer';
import { Backend } from './message-codes';

/** CopyData ('d', both directions): relayed as bytes; built here only by tests and fakes. */
export function encodeCopyData(data: Uint8Array, writer = new BufferWriter()): Buffer {
  return writer.bytes(data).frame(Backend.copyData);
}
