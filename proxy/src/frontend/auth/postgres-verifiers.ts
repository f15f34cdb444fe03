import type { ConnectionOptions } from 'node:tls';
import { Pool } from 'pg';
import type { ProxyConfig } from '../../config';
import { parseScramVerifier, type ScramVerifier } from '../../auth/scram-sha-256';

/** What a lookup found: a SCRAM verifier, or why the user cannot log in this way. */
export type VerifierLookup = { verifier: ScramVerifier } | { refused: 'unknown user' | 'no SCRAM verifier' };

/** Where delegated auth finds a user's verifier (PostgresVerifiers; tests give their own). */
export interface VerifierSource {
  lookup(user: string): Promise<VerifierLookup>;
}

/** The auth query failed (PostgreSQL unreachable, the query wrong): the client gets 08006, not 28P01. */
export class AuthQueryError extends Error {
  readonly code = 'auth_query_failed';
}

/**
 * Delegated auth: reads a role's SCRAM verifier from PostgreSQL with the configured
 * query, as the proxy's own user in the URL's database. A small pool of its own, so a
 * burst of logins does not take connections from the relay pools.
 */
export class PostgresVerifiers implements VerifierSource {
  private readonly pool: Pool;

  constructor(
    private readonly query: string,
    backend: ProxyConfig['backend'],
    connectTimeoutMs: number,
  ) {
    this.pool = new Pool({
      host: backend.host,
      port: backend.port,
      user: backend.user,
      password: backend.password,
      database: backend.database,
      ssl: sslOptions(backend.tls),
      max: 2,
      connectionTimeoutMillis: connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: 'strata-proxy-auth',
    });
    // An idle connection dropped by PostgreSQL must not crash the proxy; the next lookup reconnects.
    this.pool.on('error', () => undefined);
  }

  async lookup(user: string): Promise<VerifierLookup> {
    let rows: unknown[][];
    try {
      rows = (await this.pool.query<unknown[]>({ text: this.query, values: [user], rowMode: 'array' })).rows;
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new AuthQueryError(`the auth query failed${code ? ` (${code})` : ''}`, { cause: error });
    }
    const value = rows[0]?.[0];
    if (typeof value !== 'string') return { refused: 'unknown user' };
    const verifier = parseScramVerifier(value);
    return verifier ? { verifier } : { refused: 'no SCRAM verifier' };
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** The relay's sslmode, as node-postgres options ('prefer' insists on TLS: verifiers are secrets). */
function sslOptions(tls: ProxyConfig['backend']['tls']): false | ConnectionOptions {
  switch (tls.mode) {
    case 'disable':
      return false;
    case 'prefer':
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { ca: tls.ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { ca: tls.ca, rejectUnauthorized: true };
  }
}
