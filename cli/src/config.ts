import { coldStoreConfigFromEnv, type ColdStoreConfig } from '@strata/core';

/**
 * CLI connection settings, validated once into a fully defaulted object.
 * Flags win over environment variables; credentials come only from the environment
 * (or the URL the operator's Secret provides), never from flags that land in `ps`.
 */
export interface CliConfig {
  pgUrl: string;
  cold: ColdStoreConfig;
}

export interface CliFlags {
  pg?: string;
  clickhouse?: string;
  clickhousePath?: string;
  clickhouseDatabase?: string;
}

export function resolveConfig(flags: CliFlags, env: NodeJS.ProcessEnv): CliConfig {
  const pgUrl = flags.pg ?? env.STRATA_PG_URL ?? env.DATABASE_URL;
  if (!pgUrl) throw new Error('no PostgreSQL connection: set STRATA_PG_URL (e.g. postgres://user@127.0.0.1:5432/db) or pass --pg');
  const url = flags.clickhouse ?? env.STRATA_CLICKHOUSE_URL;
  const path = flags.clickhousePath ?? env.STRATA_CLICKHOUSE_PATH;
  if (url && path) throw new Error('set either a ClickHouse URL (STRATA_CLICKHOUSE_URL) or an embedded data path (STRATA_CLICKHOUSE_PATH), not both');
  // Flags win over the environment; credentials stay environment-only.
  const database = flags.clickhouseDatabase ?? env.STRATA_CLICKHOUSE_DATABASE;
  const cold = coldStoreConfigFromEnv({ ...env, STRATA_CLICKHOUSE_URL: url, STRATA_CLICKHOUSE_PATH: path, STRATA_CLICKHOUSE_DATABASE: database }, '.data/clickhouse')!;
  return { pgUrl, cold };
}
