import { BufferWriter } from './buffer-writer';
import { Frontend } from './message-codes';
import { MessageReader } from './message-reader';
import { ProtocolError, ProtocolErrorCode } from './protocol-error';

/** Execute: portal and row limit (0 = all). */
export interface Execute {
  portal: string;
  maxRows: number;
}

export function decodeExecute(frame: Buffer): Execute {
  const reader = new MessageReader(frame, 5);
  const execute = { portal: reader.cstring('portal name'), maxRows: reader.int32('row limit') };
  reader.end('Execute');
  return execute;
}

export function encodeExecute(execute: Execute, writer = new BufferWriter()): Buffer {
  return writer.cstring(execute.portal).int32(execute.maxRows).frame(Frontend.execute);
}

/** Execute's shape (portal name, int32) checked without decoding, on the relay path. */
export function validateExecute(frame: Buffer): void {
  if (frame.indexOf(0, 5) !== frame.length - 5) {
    throw new ProtocolError(ProtocolErrorCode.truncatedField, 'malformed Execute message');
  }
}
