import { BufferWriter } from './buffer-writer';
import { Frontend } from './message-codes';
import { MessageReader } from './message-reader';

/** Parse: statement name ('' = unnamed), SQL, declared parameter type OIDs. */
export interface Parse {
  name: string;
  sql: string;
  paramTypes: number[];
}

export function decodeParse(frame: Buffer): Parse {
  const reader = new MessageReader(frame, 5);
  const name = reader.cstring('statement name');
  const sql = reader.cstring('query string');
  const count = reader.int16('parameter count');
  const paramTypes: number[] = [];
  for (let i = 0; i < count; i++) paramTypes.push(reader.int32('parameter type') >>> 0);
  reader.end('Parse');
  return { name, sql, paramTypes };
}

export function encodeParse(parse: Parse, writer = new BufferWriter()): Buffer {
  writer.cstring(parse.name).cstring(parse.sql).int16(parse.paramTypes.length);
  for (const oid of parse.paramTypes) writer.int32(oid | 0);
  return writer.frame(Frontend.parse);
}
