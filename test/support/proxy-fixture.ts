// Starts the real proxy in-process for tests, against the real local PostgreSQL, with a
// database of its own, a user with a password, optional TLS (a self-signed certificate
// made with openssl at test time) and a log capture that tests can search.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Client } from 'pg';
import pino from 'pino';
import { resolveProxyConfig, startProxy, type ProxyConfigInput, type QueryEngine, type Router, type RunningProxy } from '@strata/proxy';
import { adminUrl, createTestDatabase, type TestDatabase } from './postgres';

export const PROXY_USER = 'strata_test';
export const PROXY_PASSWORD = 'p4ss-w0rd-for-tests';

export interface ProxyFixture {
  proxy: RunningProxy;
  db: TestDatabase;
  port: number;
  /** postgres:// URL through the proxy with the test user's password. */
  url: string;
  /** Everything the proxy logged, as JSON lines. */
  logs: string[];
  certDir?: string;
  stop(): Promise<void>;
}

export interface ProxyFixtureOptions extends Partial<ProxyConfigInput> {
  tls?: boolean;
  router?: Router;
  engine?: QueryEngine | null;
  /** Reuse a database instead of creating one. */
  db?: TestDatabase;
}

/** A self-signed certificate for CN=localhost in a fresh temp dir. */
export function makeSelfSignedCert(): { dir: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'strata-proxy-tls-'));
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  return { dir, cert, key };
}

export async function startProxyFixture(options: ProxyFixtureOptions = {}): Promise<ProxyFixture> {
  const { tls, router, engine, db: givenDb, ...input } = options;
  const db = givenDb ?? (await createTestDatabase('proxy'));
  const certs = tls ? makeSelfSignedCert() : undefined;
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const config = resolveProxyConfig({
    listen: '127.0.0.1:0',
    backendUrl: adminUrl(),
    users: { [PROXY_USER]: PROXY_PASSWORD },
    metricsListen: '127.0.0.1:0',
    shutdownTimeoutMs: 2000,
    ...(certs ? { tlsCert: certs.cert, tlsKey: certs.key } : {}),
    ...input,
  });
  const proxy = await startProxy(config, { logger: pino({ level: 'debug' }, sink), router, engine });
  return {
    proxy,
    db,
    port: proxy.port,
    url: `postgres://${PROXY_USER}:${encodeURIComponent(PROXY_PASSWORD)}@127.0.0.1:${proxy.port}/${db.name}`,
    logs,
    certDir: certs?.dir,
    async stop() {
      await proxy.close();
      if (!givenDb) await db.drop();
      if (certs) rmSync(certs.dir, { recursive: true, force: true });
    },
  };
}

/** A node-postgres client, connected; its late socket errors (a proxy that closes it) are ignored. */
export async function connectClient(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
