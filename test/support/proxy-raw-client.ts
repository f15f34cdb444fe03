// A bare-socket client that logs in to the proxy with SCRAM, for tests that must send
// bytes no driver would (malformed messages, the fuzzer).
import { connect, type Socket } from 'node:net';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { wire } from '@strata/proxy';
import { PROXY_PASSWORD, PROXY_USER } from './proxy-fixture';

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

/** Connects, authenticates, and resolves after the first ReadyForQuery. */
export function rawLogin(port: number, database: string, user = PROXY_USER, password = PROXY_PASSWORD): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const reader = new wire.FrameReader(1 << 24);
    const nonce = randomBytes(18).toString('base64');
    const clientFirstBare = `n=*,r=${nonce}`;
    const onData = (chunk: Buffer) => {
      reader.push(chunk, (type, frame) => {
        if (type === wire.Backend.errorResponse) reject(new Error(wire.decodeErrorResponse(frame).message));
        if (type === wire.Backend.authentication) {
          const auth = wire.decodeAuthentication(frame);
          if (auth.code === wire.AuthCode.sasl) {
            socket.write(wire.encodeSaslInitialResponse({ mechanism: 'SCRAM-SHA-256', data: Buffer.from(`n,,${clientFirstBare}`) }));
          } else if (auth.code === wire.AuthCode.saslContinue && 'data' in auth) {
            const serverFirst = auth.data.toString();
            const attrs = Object.fromEntries(serverFirst.split(',').map((p) => [p[0], p.slice(2)]));
            const salted = pbkdf2Sync(password, Buffer.from(attrs.s, 'base64'), Number(attrs.i), 32, 'sha256');
            const clientKey = hmac(salted, 'Client Key');
            const withoutProof = `c=biws,r=${attrs.r}`;
            const signature = hmac(createHash('sha256').update(clientKey).digest(), `${clientFirstBare},${serverFirst},${withoutProof}`);
            const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]));
            socket.write(wire.encodeSaslResponse(Buffer.from(`${withoutProof},p=${proof.toString('base64')}`)));
          }
        }
        if (type === wire.Backend.readyForQuery) {
          socket.off('data', onData);
          resolve(socket);
        }
      });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('connect', () => socket.write(wire.encodeStartupMessage({ user, database })));
  });
}
