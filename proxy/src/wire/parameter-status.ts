import { BufferWriter } from './buffer-writer';
import { Backend } from './message-codes';
import { MessageReader } from './message-reader';

/** ParameterStatus: a run-time setting the server reports (at start and when it changes). */
export function decodeParameterStatus(frame: Buffer): { name: string; value: string } {
  const reader = new MessageReader(frame, 5);
  return { name: reader.cstring('parameter name'), value: reader.cstring('parameter value') };
}

export function encodeParameterStatus(name: string, value: string, writer = new BufferWriter()): Buffer {
  return writer.cstring(name).cstring(value).frame(Backend.parameterStatus);
}
