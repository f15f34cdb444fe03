import { BufferWriter } from './buffer-writer';
import { Backend } from './message-codes';
import { MessageReader } from './message-reader';

/** DataRow: one value per column, NULL as length -1. */
export function encodeDataRow(values: ReadonlyArray<Uint8Array | string | null>, writer: BufferWriter): Buffer {
  writer.int16(values.length);
  for (const value of values) {
    if (value === null) writer.int32(-1);
    else if (typeof value === 'string') writer.int32(Buffer.byteLength(value)).string(value);
    else writer.int32(value.length).bytes(value);
  }
  return writer.frame(Backend.dataRow);
}

export function decodeDataRow(frame: Buffer): Array<Buffer | null> {
  const reader = new MessageReader(frame, 5);
  const values: Array<Buffer | null> = [];
  for (let n = reader.int16(), i = 0; i < n; i++) {
    const length = reader.int32();
    values.push(length < 0 ? null : reader.bytes(length));
  }
  return values;
}
