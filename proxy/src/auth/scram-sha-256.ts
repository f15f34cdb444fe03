// SCRAM-SHA-256 (RFC 5802/7677) for both ends of the proxy: ScramServer checks a
// client logging in to the proxy (frontend/auth), ScramClient logs the proxy in to
// PostgreSQL (backend/server-connection) and test clients in to the proxy. Pure: no I/O.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** What the server keeps for a SCRAM user (RFC 5802/7677), as in pg_authid. */
export interface ScramVerifier {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/**
 * What a SCRAM client needs to log in without the password: ClientKey (which the proxy
 * learns from a client's proof) and ServerKey (from the stored verifier). Used to log
 * in to PostgreSQL as a user whose verifier PostgreSQL holds (delegated auth).
 */
export interface ScramKeys {
  clientKey: Buffer;
  serverKey: Buffer;
}

const hmac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

function saltedKeys(password: string, salt: Buffer, iterations: number): ScramKeys {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  return { clientKey: hmac(salted, 'Client Key'), serverKey: hmac(salted, 'Server Key') };
}

export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): ScramVerifier {
  const { clientKey, serverKey } = saltedKeys(password, salt, iterations);
  return { iterations, salt, storedKey: sha256(clientKey), serverKey };
}

/** Parses PostgreSQL's stored form: SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>. */
export function parseScramVerifier(text: string): ScramVerifier | null {
  const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(text);
  if (!match) return null;
  return { iterations: Number(match[1]), salt: Buffer.from(match[2], 'base64'), storedKey: Buffer.from(match[3], 'base64'), serverKey: Buffer.from(match[4], 'base64') };
}

function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0], part.slice(2));
  }
  return out;
}

export class ScramError extends Error {
  readonly code = 'scram_failed';
}

/**
 * The server side of one SCRAM-SHA-256 exchange. For an unknown user it runs with a
 * made-up verifier and fails at the proof, so a client cannot tell unknown users from
 * wrong passwords (what PostgreSQL does).
 */
export class ScramServer {
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  private gs2Header = '';
  private provenClientKey: Buffer | null = null;

  constructor(private readonly verifier: ScramVerifier) {}

  /** After a successful final(): the client's ClientKey and the verifier's ServerKey. */
  keys(): ScramKeys | null {
    return this.provenClientKey ? { clientKey: this.provenClientKey, serverKey: this.verifier.serverKey } : null;
  }

  /** client-first-message → server-first-message */
  first(clientFirst: string): string {
    const gs2 = /^([nyp])(=[^,]*)?,([^,]*),/.exec(clientFirst);
    if (!gs2) throw new ScramError('malformed SCRAM client-first-message');
    if (gs2[1] === 'p') throw new ScramError('channel binding is not offered');
    this.gs2Header = gs2[0];
    this.clientFirstBare = clientFirst.slice(gs2[0].length);
    const clientNonce = attributes(this.clientFirstBare).get('r');
    if (!clientNonce) throw new ScramError('SCRAM client nonce missing');
    this.nonce = clientNonce + randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${this.verifier.salt.toString('base64')},i=${this.verifier.iterations}`;
    return this.serverFirst;
  }

  /** client-final-message → server-final-message, or throws when the proof is wrong. */
  final(clientFinal: string): string {
    const attrs = attributes(clientFinal);
    const proofAt = clientFinal.lastIndexOf(',p=');
    if (proofAt < 0 || attrs.get('r') !== this.nonce) throw new ScramError('SCRAM nonce mismatch');
    if (attrs.get('c') !== Buffer.from(this.gs2Header).toString('base64')) throw new ScramError('SCRAM channel binding mismatch');
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${clientFinal.slice(0, proofAt)}`;
    const proof = Buffer.from(attrs.get('p') ?? '', 'base64');
    const signature = hmac(this.verifier.storedKey, authMessage);
    if (proof.length !== signature.length) throw new ScramError('SCRAM proof has the wrong length');
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i] ^ signature[i];
    if (!timingSafeEqual(sha256(clientKey), this.verifier.storedKey)) throw new ScramError('SCRAM proof does not match');
    this.provenClientKey = clientKey;
    return `v=${hmac(this.verifier.serverKey, authMessage).toString('base64')}`;
  }
}

/**
 * The client side, used by the proxy to log in to PostgreSQL: with its own password, or
 * with a delegated user's keys (the salt and iteration count PostgreSQL sends are then
 * the ones those keys were made with).
 */
export class ScramClient {
  private readonly clientNonce = randomBytes(18).toString('base64');
  private clientFirstBare = '';
  private serverSignature: Buffer | null = null;

  constructor(private readonly secret: string | ScramKeys) {}

  first(): string {
    this.clientFirstBare = `n=*,r=${this.clientNonce}`;
    return `n,,${this.clientFirstBare}`;
  }

  final(serverFirst: string): string {
    const attrs = attributes(serverFirst);
    const nonce = attrs.get('r') ?? '';
    if (!nonce.startsWith(this.clientNonce)) throw new ScramError('server nonce does not extend the client nonce');
    const { clientKey, serverKey } = typeof this.secret === 'string' ? saltedKeys(this.secret, Buffer.from(attrs.get('s') ?? '', 'base64'), Number(attrs.get('i'))) : this.secret;
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(sha256(clientKey), authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i] ^ signature[i];
    this.serverSignature = hmac(serverKey, authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  verify(serverFinal: string): void {
    const v = attributes(serverFinal).get('v');
    if (!v || !this.serverSignature || !timingSafeEqual(Buffer.from(v, 'base64'), this.serverSignature)) throw new ScramError('server signature does not match');
  }
}
