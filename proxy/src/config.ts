import { readFileSync } from 'node:fs';
import { DEFAULT_PART_LISTING_MS } from './engine/part-listings';
import { DEFAULT_MIN_ROWS_PER_ROLLUP_ROW } from './engine/rollup-density';

/** Validated once at start into a fully defaulted object (after @clickhouse/client's config). */
export interface ProxyConfig {
  listen: { host: string; port: number };
  /**
   * PostgreSQL the proxy connects to with its own credentials. The database is always
   * the one the client names, one pool per database (and per delegated user). The URL's
   * database is where the auth query runs.
   */
  backend: { host: string; port: number; user: string; password?: string; database: string; tls: BackendTls };
  poolMode: 'session' | 'transaction';
  pool: { size: number; acquireTimeoutMs: number; idleTimeoutMs: number; healthCheckAfterMs: number; connectTimeoutMs: number };
  queryTimeoutMs: number;
  /**
   * `query`: delegated auth. A user not in `users` is looked up in PostgreSQL with this
   * query ($1 = the user name, as the proxy's own user, in the URL's database); its one
   * value is the role's SCRAM verifier (pg_authid.rolpassword). That user's sessions
   * then log in to PostgreSQL as themselves, with the keys their SCRAM proof revealed.
   */
  auth: { method: 'scram-sha-256' | 'md5'; users: Map<string, string>; query?: string };
  tls?: { cert: string; key: string; required: boolean };
  /** After login; before it, PostgreSQL's own smaller limits (frontend/admission.ts). */
  maxMessageSize: number;
  /** Open client connections, logged in or not; past it SQLSTATE 53300 (PgBouncer's max_client_conn). */
  maxClients: number;
  /** From accept to AuthenticationOk (PostgreSQL's authentication_timeout); then FATAL 57014 and close. */
  authTimeoutMs: number;
  metrics?: { host: string; port: number };
  shutdownTimeoutMs: number;
  /**
   * How often the tiered proxy re-reads which tables are tiered (a newly registered table
   * is routed after one refresh; a known table's columns are read per statement).
   */
  catalogRefreshMs: number;
  /**
   * What one tiered statement may stage from the cold tier: raw rows finished in
   * PostgreSQL (rows, bytes of text), and bytes held as parameters in a READ ONLY
   * transaction. Past any, SQLSTATE 54000 naming the limit.
   */
  coldLimits: { rawRows: number; rawBytes: number; inlineBytes: number };
  /** statement_timeout of the engine's statements where the session sets none (0: none). */
  statementTimeoutMs: number;
  /** A rollup is read where its raw table holds at least this many rows per rollup row (0: always). */
  minRowsPerRollupRow: number;
  /** How long a listing of a cold table's parts bounds "the latest rows" reads (engine/part-listings.ts; 0: never listed). */
  partListingMs: number;
}

/**
 * TLS to PostgreSQL, from STRATA_PG_URL's `sslmode` and `sslrootcert` as libpq reads them:
 * `disable` (the default, as node-postgres has it), `prefer` (TLS when the server offers
 * it, unverified), `require` (TLS or no connection, unverified), `verify-ca` (the
 * server's certificate must chain to `sslrootcert`), `verify-full` (and name the host).
 */
export interface BackendTls {
  mode: 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
  /** PEM of the trusted roots (sslrootcert); the system's when absent. */
  ca?: string;
}

const SSL_MODES: readonly BackendTls['mode'][] = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'];

function backendTlsOf(url: URL): BackendTls {
  const mode = url.searchParams.get('sslmode') ?? 'disable';
  if (!(SSL_MODES as readonly string[]).includes(mode)) {
    throw new ProxyConfigError(`STRATA_PG_URL: sslmode=${mode} is not supported (use one of ${SSL_MODES.join(', ')})`);
  }
  const rootCert = url.searchParams.get('sslrootcert');
  let ca: string | undefined;
  if (rootCert) {
    try {
      ca = readFileSync(rootCert, 'utf8');
    } catch (err) {
      throw new ProxyConfigError(`STRATA_PG_URL: cannot read sslrootcert ${rootCert} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return { mode: mode as BackendTls['mode'], ca };
}

export class ProxyConfigError extends Error {
  readonly code = 'invalid_proxy_config';
  constructor(message: string) {
    super(message);
    this.name = 'ProxyConfigError';
  }
}

/** Everything that may come from a JSON file (STRATA_PROXY_CONFIG) or be given in-process. */
export interface ProxyConfigInput {
  listen?: string;
  backendUrl?: string;
  poolMode?: string;
  poolSize?: number;
  acquireTimeoutMs?: number;
  idleTimeoutMs?: number;
  healthCheckAfterMs?: number;
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
  authMethod?: string;
  /** name → password, or a PostgreSQL SCRAM verifier / md5 hash as stored in pg_authid. */
  users?: Record<string, string>;
  usersFile?: string;
  /** Delegated auth: see ProxyConfig.auth.query. */
  authQuery?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsRequired?: boolean;
  maxMessageSize?: number;
  maxClients?: number;
  authTimeoutMs?: number;
  metricsListen?: string;
  shutdownTimeoutMs?: number;
  catalogRefreshMs?: number;
  maxRawColdRows?: number;
  maxRawColdBytes?: number;
  maxInlineColdBytes?: number;
  statementTimeoutMs?: number;
  minRowsPerRollupRow?: number;
  partListingMs?: number;
}

function hostPort(value: string, what: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value.trim());
  if (!match) throw new ProxyConfigError(`${what} must be host:port, got "${value}"`);
  const port = Number(match[3]);
  if (port > 65535) throw new ProxyConfigError(`${what} port out of range`);
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

function positive(value: number | undefined, fallback: number, what: string, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) throw new ProxyConfigError(`${what} must be a ${allowZero ? 'non-negative' : 'positive'} integer`);
  return value;
}

/** Users file: one `name:password` per line (# comments), or a JSON object. */
export function parseUsers(text: string): Record<string, string> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return JSON.parse(trimmed) as Record<string, string>;
  const users: Record<string, string> = {};
  for (const line of trimmed.split('\n')) {
    const entry = line.trim();
    if (!entry || entry.startsWith('#')) continue;
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new ProxyConfigError('each users line must be name:password');
    users[entry.slice(0, colon)] = entry.slice(colon + 1);
  }
  return users;
}

export function resolveProxyConfig(input: ProxyConfigInput): ProxyConfig {
  if (!input.backendUrl) throw new ProxyConfigError('the PostgreSQL backend URL is required (STRATA_PG_URL)');
  let url: URL;
  try {
    url = new URL(input.backendUrl);
  } catch {
    throw new ProxyConfigError('STRATA_PG_URL is not a valid URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new ProxyConfigError('STRATA_PG_URL must be a postgres:// URL');
  const backend = {
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username) || 'postgres',
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database: decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username) || 'postgres',
    tls: backendTlsOf(url),
  };

  const poolMode = input.poolMode ?? 'transaction';
  if (poolMode !== 'session' && poolMode !== 'transaction') throw new ProxyConfigError('pool mode must be session or transaction');
  const method = input.authMethod ?? 'scram-sha-256';
  if (method !== 'scram-sha-256' && method !== 'md5') throw new ProxyConfigError('auth method must be scram-sha-256 or md5');

  const users = new Map(Object.entries(input.users ?? {}));
  if (input.usersFile) for (const [name, secret] of Object.entries(parseUsers(readFileSync(input.usersFile, 'utf8')))) users.set(name, secret);
  const authQuery = input.authQuery?.trim() || undefined;
  if (authQuery) {
    if (method !== 'scram-sha-256') throw new ProxyConfigError('delegated auth (STRATA_PROXY_AUTH_QUERY) needs auth method scram-sha-256');
    if (!authQuery.includes('$1')) throw new ProxyConfigError('the auth query must take the user name as $1');
  }
  // No default password: a proxy without users lets nobody in, and says so at start.
  if (users.size === 0 && !authQuery) throw new ProxyConfigError('no users configured (STRATA_PROXY_USERS or STRATA_PROXY_USERS_FILE, or STRATA_PROXY_AUTH_QUERY to delegate to PostgreSQL)');
  for (const [name, secret] of users) {
    if (!name || !secret) throw new ProxyConfigError('every user needs a name and a password');
    if (method === 'md5' && secret.startsWith('SCRAM-SHA-256$')) throw new ProxyConfigError(`user ${name} has a SCRAM verifier, which md5 auth cannot use`);
  }

  if (!!input.tlsCert !== !!input.tlsKey) throw new ProxyConfigError('TLS needs both a certificate and a key');
  const tls = input.tlsCert && input.tlsKey ? { cert: readFileSync(input.tlsCert, 'utf8'), key: readFileSync(input.tlsKey, 'utf8'), required: input.tlsRequired ?? false } : undefined;
  if (input.tlsRequired && !tls) throw new ProxyConfigError('TLS is required but no certificate is configured');

  return {
    listen: hostPort(input.listen ?? '127.0.0.1:6432', 'listen address'),
    backend,
    poolMode,
    pool: {
      size: positive(input.poolSize, 20, 'pool size'),
      acquireTimeoutMs: positive(input.acquireTimeoutMs, 30000, 'acquire timeout'),
      idleTimeoutMs: positive(input.idleTimeoutMs, 600000, 'idle timeout'),
      healthCheckAfterMs: positive(input.healthCheckAfterMs, 30000, 'health check delay', true),
      connectTimeoutMs: positive(input.connectTimeoutMs, 10000, 'connect timeout'),
    },
    queryTimeoutMs: positive(input.queryTimeoutMs, 0, 'query timeout', true),
    auth: { method, users, query: authQuery },
    tls,
    maxMessageSize: positive(input.maxMessageSize, 64 * 1024 * 1024, 'max message size'),
    maxClients: positive(input.maxClients, 1000, 'max clients'),
    authTimeoutMs: positive(input.authTimeoutMs, 60000, 'authentication timeout'),
    metrics: input.metricsListen ? hostPort(input.metricsListen, 'metrics address') : undefined,
    shutdownTimeoutMs: positive(input.shutdownTimeoutMs, 30000, 'shutdown timeout', true),
    catalogRefreshMs: catalogRefresh(input.catalogRefreshMs),
    coldLimits: {
      rawRows: positive(input.maxRawColdRows, 20_000_000, 'max raw cold rows'),
      rawBytes: positive(input.maxRawColdBytes, 4 * 1024 ** 3, 'max raw cold bytes'),
      inlineBytes: positive(input.maxInlineColdBytes, 64 * 1024 ** 2, 'max inline cold bytes'),
    },
    statementTimeoutMs: positive(input.statementTimeoutMs, 300_000, 'statement timeout', true),
    minRowsPerRollupRow: positive(input.minRowsPerRollupRow, DEFAULT_MIN_ROWS_PER_ROLLUP_ROW, 'min rows per rollup row', true),
    partListingMs: positive(input.partListingMs, DEFAULT_PART_LISTING_MS, 'part listing ms', true),
  };
}

function catalogRefresh(value: number | undefined): number {
  const ms = positive(value, 10000, 'catalog refresh interval');
  if (ms < 100) throw new ProxyConfigError('catalog refresh interval must be at least 100 ms');
  return ms;
}

const int = (value: string | undefined): number | undefined => (value === undefined || value === '' ? undefined : Number(value));

/** Env (STRATA_PROXY_*, STRATA_PG_URL) over an optional JSON file named by STRATA_PROXY_CONFIG. */
export function proxyConfigFromEnv(env: NodeJS.ProcessEnv): ProxyConfig {
  const file: ProxyConfigInput = env.STRATA_PROXY_CONFIG ? (JSON.parse(readFileSync(env.STRATA_PROXY_CONFIG, 'utf8')) as ProxyConfigInput) : {};
  const fromEnv: ProxyConfigInput = {
    listen: env.STRATA_PROXY_LISTEN,
    backendUrl: env.STRATA_PG_URL,
    poolMode: env.STRATA_PROXY_POOL_MODE,
    poolSize: int(env.STRATA_PROXY_POOL_SIZE),
    acquireTimeoutMs: int(env.STRATA_PROXY_ACQUIRE_TIMEOUT_MS),
    idleTimeoutMs: int(env.STRATA_PROXY_IDLE_TIMEOUT_MS),
    queryTimeoutMs: int(env.STRATA_PROXY_QUERY_TIMEOUT_MS),
    healthCheckAfterMs: int(env.STRATA_PROXY_HEALTH_CHECK_AFTER_MS),
    connectTimeoutMs: int(env.STRATA_PROXY_CONNECT_TIMEOUT_MS),
    shutdownTimeoutMs: int(env.STRATA_PROXY_SHUTDOWN_TIMEOUT_MS),
    authMethod: env.STRATA_PROXY_AUTH,
    users: env.STRATA_PROXY_USERS ? parseUsers(env.STRATA_PROXY_USERS.split(',').join('\n')) : undefined,
    usersFile: env.STRATA_PROXY_USERS_FILE,
    authQuery: env.STRATA_PROXY_AUTH_QUERY,
    tlsCert: env.STRATA_PROXY_TLS_CERT,
    tlsKey: env.STRATA_PROXY_TLS_KEY,
    tlsRequired: env.STRATA_PROXY_TLS_REQUIRED ? env.STRATA_PROXY_TLS_REQUIRED === 'true' : undefined,
    maxMessageSize: int(env.STRATA_PROXY_MAX_MESSAGE_SIZE),
    maxClients: int(env.STRATA_PROXY_MAX_CLIENTS),
    authTimeoutMs: int(env.STRATA_PROXY_AUTH_TIMEOUT_MS),
    metricsListen: env.STRATA_PROXY_METRICS_LISTEN,
    catalogRefreshMs: int(env.STRATA_PROXY_CATALOG_REFRESH_MS),
    maxRawColdRows: int(env.STRATA_PROXY_MAX_RAW_COLD_ROWS),
    maxRawColdBytes: int(env.STRATA_PROXY_MAX_RAW_COLD_BYTES),
    maxInlineColdBytes: int(env.STRATA_PROXY_MAX_INLINE_COLD_BYTES),
    statementTimeoutMs: int(env.STRATA_PROXY_STATEMENT_TIMEOUT_MS),
    minRowsPerRollupRow: int(env.STRATA_PROXY_MIN_ROWS_PER_ROLLUP_ROW),
    partListingMs: int(env.STRATA_PROXY_PART_LISTING_MS),
  };
  const merged: ProxyConfigInput = { ...file };
  for (const [key, value] of Object.entries(fromEnv)) if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  if (fromEnv.users && file.users) merged.users = { ...file.users, ...fromEnv.users };
  return resolveProxyConfig(merged);
}
