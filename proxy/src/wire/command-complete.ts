import { BufferWriter } from './buffer-writer';
import { Backend } from './message-codes';
import { MessageReader } from './message-reader';

/** CommandComplete: the command tag, e.g. 'SELECT 3'. */
export function encodeCommandComplete(tag: string, writer = new BufferWriter()): Buffer {
  return writer.cstring(tag).frame(Backend.commandComplete);
}

export function decodeCommandComplete(frame: Buffer): string {
  return new MessageReader(frame, 5).cstring('command tag');
}
