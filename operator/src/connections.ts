import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { createColdStore, type ColdStore, type ColdStoreLogger } from '@strata/core';
import { OPERATOR_ERROR_CODES, OperatorError, isNotFound } from './errors';
import type { KubeClient } from '@strata/core';
import { secretPath, type TieredTableObject } from './kube/resources';

/**
 * Where a TieredTable's tiers live. From the Secret named by `spec.connection.secretRef`
 * (in the table's namespace), else — in the release's namespace only — the operator's own
 * settings (its environment, which the chart fills from a Secret). Secret keys: pgUrl, clickhouseUrl, clickhouseUser,
 * clickhousePassword, clickhouseDatabase — the same names the CronJob maps to STRATA_* env.
 */
export interface ConnectionSettings {
  pgUrl: string;
  clickhouse?: { url: string; username?: string; password?: string; database: string };
  /** Where these came from, for messages: never the values themselves. */
  source: string;
}

export const SECRET_KEYS = {
  pgUrl: 'pgUrl',
  clickhouseUrl: 'clickhouseUrl',
  clickhouseUser: 'clickhouseUser',
  clickhousePassword: 'clickhousePassword',
  clickhouseDatabase: 'clickhouseDatabase',
} as const;

export const DEFAULT_CLICKHOUSE_DATABASE = 'strata';

interface SecretObject {
  data?: Record<string, string>;
}

/**
 * `defaults` serve only TieredTables in `defaultsNamespace` (the release's): the
 * operator's own connection is the owner role of its database, and a namespace that
 * may create TieredTables must not get tables made there with it by leaving out
 * spec.connection. Elsewhere a Secret in the table's own namespace is required.
 */
export async function resolveConnection(
  kube: KubeClient,
  obj: TieredTableObject,
  defaults: ConnectionSettings | undefined,
  defaultsNamespace: string,
): Promise<ConnectionSettings> {
  const ref = obj.spec.connection?.secretRef?.name;
  if (!ref) {
    const namespace = obj.metadata.namespace ?? 'default';
    if (namespace !== defaultsNamespace) {
      throw new OperatorError(
        OPERATOR_ERROR_CODES.connection,
        `spec.connection.secretRef is required in namespace ${namespace}: the operator's own connection serves only TieredTables in namespace ${defaultsNamespace}`,
        false,
      );
    }
    if (!defaults) {
      throw new OperatorError(
        OPERATOR_ERROR_CODES.connection,
        'no connection settings: set spec.connection.secretRef or configure the operator with STRATA_PG_URL',
        false,
      );
    }
    return defaults;
  }
  const namespace = obj.metadata.namespace ?? 'default';
  let secret: SecretObject;
  try {
    secret = await kube.get<SecretObject>(secretPath(namespace, ref));
  } catch (err) {
    // A Secret created after its TieredTable is normal with `kubectl apply -f dir/`: retry.
    const why = isNotFound(err) ? 'not found' : (err as Error).message;
    throw new OperatorError(OPERATOR_ERROR_CODES.connection, `Secret ${namespace}/${ref}: ${why}`, true, { cause: err });
  }
  const get = (k: string): string | undefined => (secret.data?.[k] ? Buffer.from(secret.data[k], 'base64').toString('utf8') : undefined);
  const pgUrl = get(SECRET_KEYS.pgUrl);
  if (!pgUrl) throw new OperatorError(OPERATOR_ERROR_CODES.connection, `Secret ${namespace}/${ref} has no key ${SECRET_KEYS.pgUrl}`, true);
  const chUrl = get(SECRET_KEYS.clickhouseUrl);
  return {
    pgUrl,
    clickhouse: chUrl
      ? {
          url: chUrl,
          username: get(SECRET_KEYS.clickhouseUser),
          password: get(SECRET_KEYS.clickhousePassword),
          database: get(SECRET_KEYS.clickhouseDatabase) ?? DEFAULT_CLICKHOUSE_DATABASE,
        }
      : undefined,
    source: `Secret ${namespace}/${ref}`,
  };
}

/** One ColdStore per distinct ClickHouse setting (HTTP keep-alive); PostgreSQL connections per use. */
export class Connections {
  private readonly cold = new Map<string, ColdStore>();

  constructor(
    private readonly logger?: ColdStoreLogger,
    private readonly pgConnectTimeoutMs = 5_000,
  ) {}

  async openHot(settings: ConnectionSettings): Promise<Client> {
    const client = new Client({ connectionString: settings.pgUrl, connectionTimeoutMillis: this.pgConnectTimeoutMs });
    // A broken connection emits 'error'; without a listener that would crash the process.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      throw new OperatorError(OPERATOR_ERROR_CODES.hotUnavailable, `PostgreSQL (${settings.source}): ${(err as Error).message}`, true, { cause: err });
    }
    return client;
  }

  coldStore(settings: ConnectionSettings): ColdStore | undefined {
    const ch = settings.clickhouse;
    if (!ch) return undefined;
    // Keyed by a hash so the password is not kept as a readable map key.
    const key = createHash('sha256').update(JSON.stringify([ch.url, ch.username, ch.password, ch.database])).digest('hex');
    let store = this.cold.get(key);
    if (!store) {
      store = createColdStore({ kind: 'http', url: ch.url, username: ch.username, password: ch.password, database: ch.database, maxRetries: 1, requestTimeoutMs: 15_000 }, this.logger);
      this.cold.set(key, store);
    }
    return store;
  }

  async close(): Promise<void> {
    await Promise.all([...this.cold.values()].map((s) => s.close().catch(() => undefined)));
    this.cold.clear();
  }
}
