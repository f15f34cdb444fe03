import { BufferWriter } from './buffer-writer';
import { Backend } from './message-codes';
import { MessageReader } from './message-reader';

/** Authentication request codes ('R'). */
export const AuthCode = { ok: 0, cleartext: 3, md5: 5, sasl: 10, saslContinue: 11, saslFinal: 12 } as const;

export type Authentication =
  | { code: 0 }
  | { code: 3 }
  | { code: 5; salt: Buffer }
  | { code: 10; mechanisms: string[] }
  | { code: 11 | 12; data: Buffer }
  | { code: number };

export function decodeAuthentication(frame: Buffer): Authentication {
  const reader = new MessageReader(frame, 5);
  const code = reader.int32('authentication code');
  switch (code) {
    case AuthCode.md5:
      return { code, salt: reader.bytes(4, 'md5 salt') };
    case AuthCode.sasl: {
      const mechanisms: string[] = [];
      for (let m = reader.cstring('mechanism'); m !== ''; m = reader.cstring('mechanism')) mechanisms.push(m);
      return { code, mechanisms };
    }
    case AuthCode.saslContinue:
    case AuthCode.saslFinal:
      return { code, data: reader.bytes(reader.remaining()) };
    default:
      return { code };
  }
}

export const AUTHENTICATION_OK = new BufferWriter(16).int32(AuthCode.ok).frame(Backend.authentication);
export const AUTHENTICATION_CLEARTEXT = new BufferWriter(16).int32(AuthCode.cleartext).frame(Backend.authentication);

export function encodeAuthenticationMd5(salt: Buffer): Buffer {
  return new BufferWriter(16).int32(AuthCode.md5).bytes(salt).frame(Backend.authentication);
}

export function encodeAuthenticationSasl(mechanisms: string[]): Buffer {
  const writer = new BufferWriter(64).int32(AuthCode.sasl);
  for (const m of mechanisms) writer.cstring(m);
  return writer.byte(0).frame(Backend.authentication);
}

export function encodeAuthenticationSaslContinue(data: Buffer): Buffer {
  return new BufferWriter(128).int32(AuthCode.saslContinue).bytes(data).frame(Backend.authentication);
}

export function encodeAuthenticationSaslFinal(data: Buffer): Buffer {
  return new BufferWriter(128).int32(AuthCode.saslFinal).bytes(data).frame(Backend.authentication);
}
