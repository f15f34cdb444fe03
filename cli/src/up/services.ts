import pino, { type Logger } from 'pino';
import { startGateway } from '@strata/gateway';
import { resolveProxyConfig, startTieredProxy } from '@strata/proxy';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePgpass } from './credentials';
import { ensureSelfSignedCert } from './tls';
import type { UpContext, UpService, UpServiceStarter } from './up';

/**
 * The endpoints `strata up` serves once the stores are ready, in start order: the
 * proxy (queries), then the gateway (writes). Both share the process's one embedded
 * ClickHouse engine. The gateway's /v1/sql stays off here: it needs a PostgreSQL role
 * that only reads, and `strata up` has the superuser; queries go through the proxy.
 */
function logger(): Logger {
  return pino({ level: process.env.STRATA_LOG_LEVEL ?? 'warn' }, pino.destination(2));
}

const isLoopback = (host: string) => host === '127.0.0.1' || host === 'localhost' || host === '::1';

const startProxyService: UpServiceStarter = async (ctx: UpContext): Promise<UpService> => {
  const { options, credentials } = ctx;
  const tls = ensureSelfSignedCert(ctx.dataDir);
  const config = resolveProxyConfig({
    listen: `${options.host}:${options.proxyPort}`,
    backendUrl: ctx.pgUrl,
    users: { [credentials.proxyUser]: credentials.proxyPassword },
    tlsCert: tls.cert,
    tlsKey: tls.key,
    // On loopback a plain connection is allowed (it never leaves the machine); anywhere else TLS is required.
    tlsRequired: !isLoopback(options.host),
  });
  const proxy = await startTieredProxy(config, { pgUrl: ctx.pgUrl, cold: ctx.cold, coldDatabase: ctx.coldDatabase, logger: logger().child({ component: 'proxy' }) });
  const pgpass = writePgpass(ctx.dataDir, options.host, proxy.port, credentials.proxyUser, credentials.proxyPassword);
  return {
    name: 'proxy',
    connectInfo: [
      `psql:     PGPASSFILE=${pgpass} psql "host=${options.host} port=${proxy.port} user=${credentials.proxyUser} dbname=strata sslmode=require"`,
      `Grafana:  PostgreSQL datasource, host ${options.host}:${proxy.port}, database strata, user ${credentials.proxyUser}, TLS mode require, password in ${join(ctx.dataDir, 'credentials.json')}`,
    ],
    stop: async () => {
      await proxy.close();
    },
  };
};

const pemFiles = (files: { cert: string; key: string }) => ({ cert: readFileSync(files.cert), key: readFileSync(files.key) });

const startGatewayService: UpServiceStarter = async (ctx: UpContext): Promise<UpService> => {
  const { options, credentials } = ctx;
  const gateway = await startGateway({
    pgUrl: ctx.pgUrl,
    cold: ctx.cold,
    coldDatabase: ctx.coldDatabase,
    host: options.host,
    port: options.gatewayPort,
    grpcPort: options.otlpGrpcPort,
    tokens: [credentials.gatewayToken],
    // Off loopback the bearer token would cross the network: TLS only, with the proxy's
    // self-signed certificate. On loopback plain HTTP, as the proxy allows plain there.
    tls: isLoopback(options.host) ? undefined : pemFiles(ensureSelfSignedCert(ctx.dataDir)),
    buffer: options.buffer ? { url: options.buffer } : undefined,
    logger: logger().child({ component: 'gateway' }),
  });
  return {
    name: 'gateway',
    connectInfo: [
      `gateway:  ${gateway.url} (/write/metrics, /write/logs, /schema/register, /v1/metrics|logs|traces, /api/v1/write, /write; ClickHouse HTTP inserts at /)`,
      `          OTLP/gRPC and Arrow Flight on ${gateway.grpcAddress ?? 'disabled'}; bearer token in ${join(ctx.dataDir, 'credentials.json')} (gatewayToken)`,
      ...(isLoopback(options.host) ? [] : [`          TLS only (HTTP and gRPC), self-signed: trust ${ensureSelfSignedCert(ctx.dataDir).cert} (curl --cacert, OTLP exporters' certificate setting)`]),
      ...(options.buffer ? [`          ingest buffered in NATS JetStream (${new URL(options.buffer.split(',')[0]).host}), applied by writers in this process`] : []),
    ],
    stop: async () => {
      await gateway.close();
    },
  };
};

export const UP_SERVICES: UpServiceStarter[] = [startProxyService, startGatewayService];
