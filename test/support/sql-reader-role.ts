import { randomBytes } from 'node:crypto';
import { adminUrl, withClient, type TestDatabase } from './postgres';

/**
 * A PostgreSQL role for the gateway's SQL API as docs/security.md describes it: it may
 * connect and SELECT, nothing else. Roles are cluster-wide: each suite makes its own and
 * drops it after the database (which holds its grants).
 */
export interface ReaderRole {
  role: string;
  /** The test database, logged in as the role. */
  url: string;
  /** Drop the test database first: the role then owns nothing and holds no grants. */
  drop(): Promise<void>;
}

export async function createReaderRole(db: TestDatabase): Promise<ReaderRole> {
  const role = `strata_sql_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await withClient(adminUrl(), (c) => c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`));
  await withClient(db.url, async (c) => {
    // PUBLIC holds TEMPORARY on a new database: this role may not create even temporary tables.
    await c.query(`REVOKE TEMPORARY ON DATABASE "${db.name}" FROM PUBLIC`);
    await c.query(`GRANT CONNECT ON DATABASE "${db.name}" TO ${role}`);
    await c.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
    await c.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${role}`);
  });
  const url = new URL(db.url);
  url.username = role;
  url.password = password;
  return {
    role,
    url: url.toString(),
    drop: () => withClient(adminUrl(), (c) => c.query(`DROP ROLE IF EXISTS ${role}`)).then(() => undefined),
  };
}
