import { BufferWriter } from './buffer-writer';
import { Backend } from './message-codes';

/** CopyInResponse / CopyOutResponse: overall format and one format per column. */
export function encodeCopyResponse(kind: 'in' | 'out', format: number, columnFormats: number[], writer = new BufferWriter()): Buffer {
  writer.byte(format).int16(columnFormats.length);
  for (const f of columnFormats) writer.int16(f);
  return writer.frame(kind === 'in' ? Backend.copyInResponse : Backend.copyOutResponse);
}
