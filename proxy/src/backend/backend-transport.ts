import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import * as wire from '../wire';
import { BackendError } from './backend-errors';
import type { ServerTarget } from './server-connection';

const ANSWER_TLS = 0x53; // 'S'
const ANSWER_NO_TLS = 0x4e; // 'N'

/**
 * A connected transport to PostgreSQL: TCP, upgraded to TLS (SSLRequest, then the
 * handshake) as the target's sslmode says. Fails with a BackendError naming what went
 * wrong: no answer, TLS refused by a server sslmode requires it of, a certificate that
 * does not verify. Login happens on the result (server-connection.ts).
 */
export function openTransport(target: ServerTarget): Promise<Socket> {
  const mode = target.tls?.mode ?? 'disable';
  return new Promise((resolve, reject) => {
    const tcp = netConnect({ host: target.host, port: target.port, noDelay: true });
    let settled = false;
    const onTcpError = (error: Error) => fail(new BackendError('backend_unavailable', '08006', `could not connect to PostgreSQL (${(error as NodeJS.ErrnoException).code ?? 'error'})`, undefined, { cause: error }));
    const fail = (error: BackendError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      tcp.destroy();
      reject(error);
    };
    const done = (socket: Socket) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      tcp.off('error', onTcpError);
      resolve(socket);
    };
    const timer = setTimeout(() => fail(new BackendError('backend_unavailable', '08006', `PostgreSQL did not answer within ${target.connectTimeoutMs} ms`)), target.connectTimeoutMs);
    tcp.on('error', onTcpError);
    tcp.once('connect', () => {
      if (mode === 'disable') return done(tcp);
      tcp.write(wire.SSL_REQUEST);
      tcp.once('data', (answer: Buffer) => {
        // One byte, nothing after it: bytes sent before the handshake could be injected by anyone on the path.
        if (answer.length !== 1 || (answer[0] !== ANSWER_TLS && answer[0] !== ANSWER_NO_TLS)) {
          return fail(new BackendError('backend_startup_failed', '08P01', 'PostgreSQL answered the TLS request with something other than S or N'));
        }
        if (answer[0] === ANSWER_NO_TLS) {
          if (mode === 'prefer') return done(tcp);
          return fail(new BackendError('backend_unavailable', '08006', `PostgreSQL does not accept TLS connections, and STRATA_PG_URL says sslmode=${mode}`));
        }
        const secure = tlsConnect({
          socket: tcp,
          host: target.host,
          servername: isIP(target.host) ? undefined : target.host,
          ca: target.tls?.ca,
          rejectUnauthorized: mode === 'verify-ca' || mode === 'verify-full',
          // verify-ca: the chain must verify, the name need not match (libpq's meaning).
          ...(mode === 'verify-full' ? {} : { checkServerIdentity: () => undefined }),
        });
        const onTlsError = (error: Error) => {
          const code = (error as NodeJS.ErrnoException).code;
          fail(new BackendError('backend_unavailable', '08006', `TLS to PostgreSQL failed (sslmode=${mode}): ${code ? `${code}: ` : ''}${error.message}`, undefined, { cause: error }));
        };
        secure.on('error', onTlsError);
        secure.once('secureConnect', () => {
          secure.off('error', onTlsError);
          done(secure);
        });
      });
    });
  });
}
