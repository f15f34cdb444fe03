import { BufferWriter } from './buffer-writer';
import { Backend } from './message-codes';
import { MessageReader } from './message-reader';

/** ParameterDescription: the parameter type OIDs of a described statement. */
export function encodeParameterDescription(types: readonly number[], writer = new BufferWriter()): Buffer {
  writer.int16(types.length);
  for (const oid of types) writer.int32(oid | 0);
  return writer.frame(Backend.parameterDescription);
}

export function decodeParameterDescription(frame: Buffer): number[] {
  const reader = new MessageReader(frame, 5);
  const types: number[] = [];
  for (let n = reader.int16('parameter count'), i = 0; i < n; i++) types.push(reader.int32('parameter type') >>> 0);
  return types;
}
