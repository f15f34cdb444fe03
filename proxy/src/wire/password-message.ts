import { BufferWriter } from './buffer-writer';
import { Frontend } from './message-codes';
import { MessageReader } from './message-reader';

/** PasswordMessage (cleartext or md5 hash): one string. */
export function decodePasswordMessage(frame: Buffer): string {
  const reader = new MessageReader(frame, 5);
  const password = reader.cstring('password');
  reader.end('PasswordMessage');
  return password;
}

export function encodePasswordMessage(password: string, writer = new BufferWriter()): Buffer {
  return writer.cstring(password).frame(Frontend.password);
}
