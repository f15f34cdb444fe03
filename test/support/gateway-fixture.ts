import { Client } from 'pg';
import pino from 'pino';
import { createColdStore, runTiering, type ColdStore, type TierRunResult } from '@strata/core';
import { startGateway, type Gateway, type GatewayConfig } from '@strata/gateway';
import { createTestDatabase, type TestDatabase } from './postgres';
import { startChdbHttpServer, type ChdbHttpServer } from './cold-endpoint';
import { startProxyProcess, type ProxyProcess, type ProxyProcessOptions } from './proxy-process';
import { tiererDeps } from './tiered-fixture';

/**
 * A gateway on its own PostgreSQL database and its own ClickHouse endpoint (chDB's engine
 * behind the ClickHouse HTTP interface), plus direct clients to both stores so tests check
 * what was stored, not what the gateway says it stored.
 */
export const GATEWAY_TEST_TOKEN = 'test-token-0123456789abcdef';

export interface GatewayFixture {
  gateway: Gateway;
  db: TestDatabase;
  ch: ChdbHttpServer;
  pg: Client;
  cold: ColdStore;
  coldDatabase: string;
  auth: { authorization: string };
  restartGateway(overrides?: Partial<GatewayConfig>): Promise<void>;
  close(): Promise<void>;
}

export async function startGatewayFixture(prefix: string, overrides: Partial<GatewayConfig> = {}): Promise<GatewayFixture> {
  const db = await createTestDatabase(prefix);
  const ch = await startChdbHttpServer({});
  const coldDatabase = 'strata';
  const config = (): GatewayConfig => ({
    pgUrl: db.url,
    cold: { kind: 'http', url: ch.url, database: coldDatabase, maxRetries: 0 },
    coldDatabase,
    tokens: [GATEWAY_TEST_TOKEN],
    logger: pino({ level: process.env.GATEWAY_TEST_LOG ?? 'silent' }),
    ...overrides,
  });
  let gateway = await startGateway(config());
  const pg = new Client({ connectionString: db.url });
  await pg.connect();
  const cold = createColdStore({ kind: 'http', url: ch.url, database: coldDatabase });
  const fixture: GatewayFixture = {
    gateway,
    db,
    ch,
    pg,
    cold,
    coldDatabase,
    auth: { authorization: `Bearer ${GATEWAY_TEST_TOKEN}` },
    async restartGateway(more = {}) {
      await gateway.close();
      gateway = await startGateway({ ...config(), ...more });
      fixture.gateway = gateway;
    },
    async close() {
      await gateway.close().catch(() => undefined);
      await pg.end().catch(() => undefined);
      await cold.close().catch(() => undefined);
      await ch.stop();
      await db.drop();
    },
  };
  return fixture;
}

/** One tiering run of `table` up to `until` over the fixture's stores: rows below it move to ClickHouse. */
export function tierUntil(f: GatewayFixture, table: string, until: Date): Promise<TierRunResult> {
  return runTiering(
    tiererDeps(f.db.url, f.cold, f.coldDatabase),
    { table, until },
  );
}

/**
 * `strata proxy` over a gateway fixture's stores. Opt-in: suites that read back through
 * the PostgreSQL-wire proxy start it after the tables they read exist, so its first
 * catalog load already routes them.
 */
export function startProxyFor(f: GatewayFixture, opts: ProxyProcessOptions = {}): Promise<ProxyProcess> {
  return startProxyProcess({ pgUrl: f.db.url, chUrl: f.ch.url, coldDatabase: f.coldDatabase }, opts);
}
