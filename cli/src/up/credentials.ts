import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Single-node mode's secrets: generated on first start, kept in the data directory
 * (mode 0600) so restarts reuse them, never printed or logged. There are no defaults.
 */
export interface Credentials {
  /** The embedded PostgreSQL superuser's password. */
  postgresPassword: string;
  /** The proxy's client login (SCRAM-SHA-256). */
  proxyUser: string;
  proxyPassword: string;
  /** Bearer token the gateway requires. */
  gatewayToken: string;
}

const secret = () => randomBytes(24).toString('base64url');

export function loadOrCreateCredentials(dataDir: string): Credentials {
  const file = join(dataDir, 'credentials.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Credentials;
  const creds: Credentials = { postgresPassword: secret(), proxyUser: 'strata', proxyPassword: secret(), gatewayToken: secret() };
  writeFileSync(file, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
  return creds;
}

/** A libpq password file, so the printed psql line carries no secret. */
export function writePgpass(dataDir: string, host: string, port: number, user: string, password: string): string {
  const file = join(dataDir, 'pgpass');
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  writeFileSync(file, `${host}:${port}:*:${esc(user)}:${esc(password)}\n`, { mode: 0o600 });
  return file;
}
