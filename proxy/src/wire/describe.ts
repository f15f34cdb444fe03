import { BufferWriter } from './buffer-writer';
import { Frontend } from './message-codes';
import { MessageReader } from './message-reader';
import { ProtocolError, ProtocolErrorCode } from './protocol-error';

/** Describe (and Close, which has the same shape): 'S' statement or 'P' portal, and a name. */
export interface Target {
  kind: 'S' | 'P';
  name: string;
}

export function decodeTarget(frame: Buffer, what: string): Target {
  const reader = new MessageReader(frame, 5);
  const kind = String.fromCharCode(reader.byte(`${what} kind`));
  if (kind !== 'S' && kind !== 'P') throw new ProtocolError(ProtocolErrorCode.invalidValue, `invalid ${what} kind`);
  const name = reader.cstring(`${what} name`);
  reader.end(what);
  return { kind, name };
}

export const decodeDescribe = (frame: Buffer): Target => decodeTarget(frame, 'Describe');

export function encodeDescribe(target: Target, writer = new BufferWriter()): Buffer {
  return writer.byte(target.kind.charCodeAt(0)).cstring(target.name).frame(Frontend.describe);
}
