#!/usr/bin/env node
/**
 * The operator process: configuration from the environment, Kubernetes credentials from
 * KUBECONFIG or the pod's ServiceAccount. Exits 0 on SIGTERM after releasing the
 * lease, 1 when leadership is lost (the pod restarts as a fresh candidate).
 */
import pino from 'pino';
import { resolveOperatorConfig } from './config';
import { startOperator } from './operator';

async function main(): Promise<void> {
  const config = resolveOperatorConfig(process.env);
  const logger = pino({ level: config.logLevel, base: { component: 'strata-operator', identity: config.identity } });
  const op = await startOperator(config, { logger });
  // Tests and tools read the bound port (STRATA_OPERATOR_HTTP_PORT=0) from this line.
  logger.info({ port: op.port }, 'operator listening');
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    op.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await op.done;
  logger.error('lost leadership: exiting');
  process.exit(1);
}

main().catch((err) => {
  console.error(`strata-operator: ${(err as Error).message}`);
  process.exit(1);
});
