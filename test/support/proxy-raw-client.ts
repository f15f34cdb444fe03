// A bare-socket client that logs in to the proxy with SCRAM, for tests that must send
// bytes no driver would (malformed messages, the fuzzer).
import { connect, type Socket } from 'node:net';
import { ScramClient, wire } from '@strata/proxy';
import { PROXY_PASSWORD, PROXY_USER } from './proxy-fixture';

/** Connects, authenticates, and resolves after the first ReadyForQuery; `parameters` go into the StartupMessage beside user and database. */
export function rawLogin(port: number, database: string, user = PROXY_USER, password = PROXY_PASSWORD, parameters: Record<string, string> = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const reader = new wire.FrameReader(1 << 24);
    const scram = new ScramClient(password);
    const onData = (chunk: Buffer) => {
      reader.push(chunk, (type, frame) => {
        if (type === wire.Backend.errorResponse) reject(new Error(wire.decodeErrorResponse(frame).message));
        if (type === wire.Backend.authentication) {
          const auth = wire.decodeAuthentication(frame);
          if (auth.code === wire.AuthCode.sasl) {
            socket.write(wire.encodeSaslInitialResponse({ mechanism: 'SCRAM-SHA-256', data: Buffer.from(scram.first()) }));
          } else if (auth.code === wire.AuthCode.saslContinue && 'data' in auth) {
            socket.write(wire.encodeSaslResponse(Buffer.from(scram.final(auth.data.toString()))));
          } else if (auth.code === wire.AuthCode.saslFinal && 'data' in auth) {
            try {
              scram.verify(auth.data.toString());
            } catch (error) {
              reject(error);
            }
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
    socket.once('connect', () => socket.write(wire.encodeStartupMessage({ user, database, ...parameters })));
  });
}
