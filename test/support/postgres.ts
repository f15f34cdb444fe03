// Helpers for tests against the real local PostgreSQL 15 (scripts/ensure-deps.sh keeps
// it running with trust auth on 127.0.0.1). Each suite gets its own database.
import { randomBytes } from 'node:crypto';
import { Client, type ClientConfig } from 'pg';

export const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export function adminUrl(): string {
  return process.env.STRATA_TEST_PG_URL || DEFAULT_ADMIN_URL;
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

// PostgreSQL truncates identifiers past 63 bytes (NAMEDATALEN - 1).
const MAX_IDENTIFIER = 63;

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function withAdmin<T>(run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Creates a fresh, uniquely named database; drop() removes it even with open sessions. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const suffix = `${process.pid.toString(36)}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const stem = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, '_').slice(0, MAX_IDENTIFIER - suffix.length - 1);
  const name = `${stem}_${suffix}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${quoteIdent(name)}`));

  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
    },
  };
}

/** One short-lived connection for `fn` (PGlite serves one at a time; a restarted server needs a new one). */
export async function withClient<T>(target: string | ClientConfig, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client(typeof target === 'string' ? { connectionString: target } : target);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
