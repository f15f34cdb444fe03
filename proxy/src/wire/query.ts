import { BufferWriter } from './buffer-writer';
import { Frontend } from './message-codes';
import { MessageReader } from './message-reader';

/** Query (simple protocol): one string, possibly several statements. */
export function decodeQuery(frame: Buffer): string {
  const reader = new MessageReader(frame, 5);
  const sql = reader.cstring('query string');
  reader.end('Query');
  return sql;
}

export function encodeQuery(sql: string, writer = new BufferWriter()): Buffer {
  return writer.cstring(sql).frame(Frontend.query);
}
