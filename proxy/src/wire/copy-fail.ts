import { BufferWriter } from './buffer-writer';
import { Frontend } from './message-codes';

/** CopyFail: the client aborts COPY FROM STDIN with a reason. */
export function encodeCopyFail(reason: string, writer = new BufferWriter()): Buffer {
  return writer.cstring(reason).frame(Frontend.copyFail);
}
