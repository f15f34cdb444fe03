import { BufferWriter } from './buffer-writer';
import { Backend } from './message-codes';

/** ParameterDescription: the parameter type OIDs of a described statement. */
export function encodeParameterDescription(types: readonly number[], writer = new BufferWriter()): Buffer {
  writer.int16(types.length);
  for (const oid of types) writer.int32(oid | 0);
  return writer.frame(Backend.parameterDescription);
}
