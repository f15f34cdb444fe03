import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { ErrorFields } from '../wire/error-response';

/** Startup parameters that belong to the protocol, not to settings PostgreSQL should SET. */
const NOT_SETTINGS = new Set(['user', 'database', 'replication', 'options']);

/** What a StartupMessage asks for, once it may go on to authentication. */
export interface Login {
  user: string;
  database: string;
  /** Login-time settings: startup parameters, then `options` (which win, as in PostgreSQL). */
  settings: Map<string, string>;
}

/**
 * Reads a StartupMessage's parameters, or the FATAL PostgreSQL would answer first: too
 * many clients (53300), no user, plain TCP where TLS is required (28000).
 */
export function readStartup(parameters: Map<string, string>, admitted: boolean, tlsRequired: boolean, tls: boolean): Login | ErrorFields {
  if (!admitted) return { severity: 'FATAL', code: '53300', message: 'sorry, too many clients already' };
  const user = parameters.get('user');
  if (!user) return { severity: 'FATAL', code: '28000', message: 'no PostgreSQL user name specified in startup packet' };
  if (tlsRequired && !tls) return { severity: 'FATAL', code: '28000', message: 'this server accepts only connections over TLS (sslmode=require)' };
  const settings = new Map<string, string>();
  for (const [name, value] of parameters) if (!NOT_SETTINGS.has(name)) settings.set(name, value);
  for (const [name, value] of parseOptions(parameters.get('options') ?? '')) settings.set(name, value);
  return { user, database: parameters.get('database') || user, settings };
}

/** `options` startup parameter: `-c name=value` / `--name=value` pairs, backslash escapes spaces. */
export function parseOptions(options: string): Array<[string, string]> {
  const words = options.match(/(?:\\.|\S)+/g) ?? [];
  const out: Array<[string, string]> = [];
  for (let i = 0; i < words.length; i++) {
    let word = words[i].replace(/\\(.)/g, '$1');
    if (word === '-c' && i + 1 < words.length) word = words[++i].replace(/\\(.)/g, '$1');
    else if (word.startsWith('--')) word = word.slice(2);
    else if (word.startsWith('-c')) word = word.slice(2);
    const eq = word.indexOf('=');
    if (eq > 0) out.push([word.slice(0, eq).replace(/-/g, '_'), word.slice(eq + 1)]);
  }
  return out;
}

/**
 * The server side of the TLS handshake after SSLRequest was accepted: the plain socket's
 * listeners are dropped (its bytes are now the TLS stream's) and its late errors ignored;
 * the caller listens on the returned socket instead.
 */
export function acceptTls(raw: Socket, secureContext: SecureContext): TLSSocket {
  raw.removeAllListeners('data');
  raw.removeAllListeners('close');
  raw.on('error', () => undefined);
  return new TLSSocket(raw, { isServer: true, secureContext });
}
