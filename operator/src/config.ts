import { hostname } from 'node:os';
import { OPERATOR_ERROR_CODES, OperatorError } from './errors';
import { DEFAULT_CLICKHOUSE_DATABASE, type ConnectionSettings } from './connections';

/** The operator's settings, validated once into a fully defaulted object. */
export interface OperatorConfig {
  /** This replica's name in the leader Lease (the pod name in a cluster). */
  identity: string;
  /** The operator's own namespace: its Lease lives here. */
  namespace: string;
  /** Only TieredTables in this namespace; all namespaces when absent. */
  watchNamespace?: string;
  leaderElection: { enabled: boolean; leaseName: string; leaseDurationSeconds: number; renewDeadlineMs: number; retryPeriodMs: number };
  http: { host: string; port: number };
  workers: number;
  resyncMs: number;
  backoff: { baseDelayMs: number; maxDelayMs: number };
  watchTimeoutSeconds: number;
  /** Connection for tables without spec.connection.secretRef. */
  defaultConnection?: ConnectionSettings;
  tiering:
    | { mode: 'cronjob'; image: string; serviceAccountName?: string; defaultSecretName?: string; postgresCASecret?: string }
    | { mode: 'in-process' };
  logLevel: string;
  /**
   * Fault injection for tests: pause this long after the named reconcile step
   * (STRATA_OPERATOR_FAULT_PAUSE_AFTER_STEP=tables:5000), so a kill lands mid-reconcile.
   */
  faultPauseAfterStep?: { step: string; ms: number };
}

const int = (env: NodeJS.ProcessEnv, name: string, def: number): number => {
  const v = env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new OperatorError(OPERATOR_ERROR_CODES.config, `${name} must be a non-negative integer, got ${JSON.stringify(v)}`, false);
  return n;
};

/** Reads STRATA_OPERATOR_* and STRATA_PG_URL / STRATA_CLICKHOUSE_* (credentials only from env, which the chart fills from a Secret). */
export function resolveOperatorConfig(env: NodeJS.ProcessEnv): OperatorConfig {
  const mode = env.STRATA_OPERATOR_TIERING ?? 'cronjob';
  if (mode !== 'cronjob' && mode !== 'in-process') {
    throw new OperatorError(OPERATOR_ERROR_CODES.config, `STRATA_OPERATOR_TIERING must be cronjob or in-process, got ${JSON.stringify(mode)}`, false);
  }
  const pgUrl = env.STRATA_PG_URL;
  const chUrl = env.STRATA_CLICKHOUSE_URL;
  const leaseDurationSeconds = int(env, 'STRATA_OPERATOR_LEASE_DURATION_SECONDS', 15);
  return {
    identity: env.POD_NAME || `${hostname()}-${process.pid}`,
    namespace: env.POD_NAMESPACE || env.STRATA_OPERATOR_NAMESPACE || 'default',
    watchNamespace: env.STRATA_OPERATOR_WATCH_NAMESPACE || undefined,
    leaderElection: {
      enabled: env.STRATA_OPERATOR_LEADER_ELECTION !== 'false',
      leaseName: env.STRATA_OPERATOR_LEASE_NAME || 'strata-operator',
      leaseDurationSeconds,
      renewDeadlineMs: int(env, 'STRATA_OPERATOR_RENEW_DEADLINE_MS', Math.round(leaseDurationSeconds * 1000 * (2 / 3))),
      retryPeriodMs: int(env, 'STRATA_OPERATOR_RETRY_PERIOD_MS', Math.round((leaseDurationSeconds * 1000) / 7.5)),
    },
    http: { host: env.STRATA_OPERATOR_HTTP_HOST || '0.0.0.0', port: int(env, 'STRATA_OPERATOR_HTTP_PORT', 8080) },
    workers: Math.max(1, int(env, 'STRATA_OPERATOR_WORKERS', 2)),
    resyncMs: int(env, 'STRATA_OPERATOR_RESYNC_MS', 60_000),
    backoff: { baseDelayMs: int(env, 'STRATA_OPERATOR_BACKOFF_BASE_MS', 500), maxDelayMs: int(env, 'STRATA_OPERATOR_BACKOFF_MAX_MS', 60_000) },
    watchTimeoutSeconds: int(env, 'STRATA_OPERATOR_WATCH_TIMEOUT_SECONDS', 300),
    defaultConnection: pgUrl
      ? {
          pgUrl,
          clickhouse: chUrl
            ? { url: chUrl, username: env.STRATA_CLICKHOUSE_USER, password: env.STRATA_CLICKHOUSE_PASSWORD, database: env.STRATA_CLICKHOUSE_DATABASE || DEFAULT_CLICKHOUSE_DATABASE }
            : undefined,
          source: 'operator settings',
        }
      : undefined,
    tiering:
      mode === 'in-process'
        ? { mode }
        : {
            mode,
            image: env.STRATA_OPERATOR_TIERING_IMAGE || 'ghcr.io/strata-dev/strata:latest',
            serviceAccountName: env.STRATA_OPERATOR_TIERING_SERVICE_ACCOUNT || undefined,
            defaultSecretName: env.STRATA_OPERATOR_CONNECTION_SECRET || undefined,
            postgresCASecret: env.STRATA_OPERATOR_POSTGRES_CA_SECRET || undefined,
          },
    logLevel: env.LOG_LEVEL || 'info',
    faultPauseAfterStep: parseFaultPause(env.STRATA_OPERATOR_FAULT_PAUSE_AFTER_STEP),
  };
}

function parseFaultPause(v: string | undefined): OperatorConfig['faultPauseAfterStep'] {
  if (!v) return undefined;
  const m = /^([a-z-]+):(\d+)$/.exec(v);
  if (!m) throw new OperatorError(OPERATOR_ERROR_CODES.config, `STRATA_OPERATOR_FAULT_PAUSE_AFTER_STEP must look like tables:5000, got ${JSON.stringify(v)}`, false);
  return { step: m[1], ms: Number(m[2]) };
}
