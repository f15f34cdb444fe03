import { BufferWriter } from './buffer-writer';
import { Backend } from './message-codes';
import { MessageReader } from './message-reader';
import type { ResultField } from '../query-types';

/** RowDescription: one entry per column, with the format code the rows will use. */
export function encodeRowDescription(fields: readonly ResultField[], formats: readonly number[], writer = new BufferWriter()): Buffer {
  writer.int16(fields.length);
  fields.forEach((field, i) => {
    writer
      .cstring(field.name)
      .int32(field.tableOid)
      .int16(field.columnAttr)
      .int32(field.typeOid | 0)
      .int16(field.typeSize)
      .int32(field.typeModifier)
      .int16(formats[i] ?? 0);
  });
  return writer.frame(Backend.rowDescription);
}

export function decodeRowDescription(frame: Buffer): Array<ResultField & { format: number }> {
  const reader = new MessageReader(frame, 5);
  const fields: Array<ResultField & { format: number }> = [];
  for (let n = reader.int16(), i = 0; i < n; i++) {
    fields.push({
      name: reader.cstring(),
      tableOid: reader.int32() >>> 0,
      columnAttr: reader.int16(),
      typeOid: reader.int32() >>> 0,
      typeSize: reader.int16(),
      typeModifier: reader.int32(),
      format: reader.int16(),
    });
  }
  return fields;
}
