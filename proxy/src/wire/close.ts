import { BufferWriter } from './buffer-writer';
import { decodeTarget, type Target } from './describe';
import { Frontend } from './message-codes';

/** Close a statement ('S') or portal ('P'). */
export const decodeClose = (frame: Buffer): Target => decodeTarget(frame, 'Close');

export function encodeClose(target: Target, writer = new BufferWriter()): Buffer {
  return writer.byte(target.kind.charCodeAt(0)).cstring(target.name).frame(Frontend.close);
}
