/**
 * The TieredTable spec: the one description of a tiered table that the CLI, the
 * operator and the CRD all share. `crds/` is generated from the schema beside this file
 * (schema.ts), which is also what validate.ts checks documents against.
 */

export const TIERED_TABLE_GROUP = 'strata.dev';
export const TIERED_TABLE_VERSION = 'v1alpha1';
export const TIERED_TABLE_API_VERSION = `${TIERED_TABLE_GROUP}/${TIERED_TABLE_VERSION}` as const;
export const TIERED_TABLE_KIND = 'TieredTable';

export const TABLE_MODES = ['hot-only', 'hot-then-cold', 'cold-only'] as const;
export type TableMode = (typeof TABLE_MODES)[number];

export const DELETION_POLICIES = ['Retain', 'Delete'] as const;
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

export const PARTITION_BY = ['hour', 'day', 'week', 'month'] as const;
export type ColdPartitionBy = (typeof PARTITION_BY)[number];

export const AGGREGATES = ['avg', 'min', 'max', 'sum', 'count'] as const;

/** What the ingest gateway does with a row field that names no column. */
export const UNKNOWN_FIELDS_POLICIES = ['labels', 'addColumns', 'reject'] as const;
export type UnknownFieldsPolicy = (typeof UNKNOWN_FIELDS_POLICIES)[number];

/** The column that takes unknown fields under the `labels` policy (dynamic schema). */
export const LABELS_COLUMN = 'labels';
export type Aggregate = (typeof AGGREGATES)[number];

export interface ColumnSpec {
  name: string;
  /** A PostgreSQL type name, e.g. `timestamptz`, `text`, `double precision`, `numeric(12,3)`. */
  type: string;
  /** NOT NULL on both tiers. The time column is always NOT NULL. */
  notNull?: boolean;
}

export interface HotSpec {
  /** Width of a hypertable chunk or native partition, e.g. `1h`. */
  chunkInterval: string;
  /** Rows older than this move to the cold tier (hot-then-cold) or are dropped (hot-only). */
  retention: string;
  /** TimescaleDB native compression of chunks older than this; only where the extension exists. */
  compression?: { after: string };
  /** Extra b-tree indexes on the hot table, each a list of column names. */
  indexes?: string[][];
}

export interface ColdSpec {
  orderBy: string[];
  partitionBy: ColdPartitionBy;
  /** Rows older than this are deleted by ClickHouse's TTL. Absent: kept forever. */
  retention?: string;
  /** ClickHouse cluster name: ReplicatedMergeTree + Distributed, ON CLUSTER DDL. */
  cluster?: string;
  /** ClickHouse data-skipping and text indexes on the raw cold table. */
  indexes?: ColdIndexSpec[];
}

/** ClickHouse index types a TieredTable may declare (`text` is ClickHouse's full-text index). */
export const COLD_INDEX_TYPES = ['minmax', 'set', 'bloom_filter', 'tokenbf_v1', 'ngrambf_v1', 'text'] as const;
export type ColdIndexType = (typeof COLD_INDEX_TYPES)[number];

/** Tokenizers of a `text` index. */
export const COLD_TEXT_TOKENIZERS = ['splitByNonAlpha', 'array'] as const;

/**
 * One ClickHouse index on the raw cold table: over a column, or over `lower(column)` /
 * `upper(column)` (the forms the proxy pushes for case-insensitive search).
 */
export interface ColdIndexSpec {
  name: string;
  column?: string;
  expression?: string;
  type: ColdIndexType;
  /** The type's arguments: set [maxRows], bloom_filter [falsePositiveRate], tokenbf_v1 [bytes, hashes, seed], ngrambf_v1 [n, bytes, hashes, seed]. */
  params?: number[];
  /** For type text. */
  tokenizer?: (typeof COLD_TEXT_TOKENIZERS)[number];
  /** Granules per index block; ClickHouse's default when absent. */
  granularity?: number;
}

export interface RollupSpec {
  name: string;
  interval: string;
  groupBy: string[];
  /** Column name → aggregates kept for it. */
  aggregates: Record<string, Aggregate[]>;
  retention?: string;
}

/**
 * How the ingest gateway treats rows. Absent: unknown fields go into a jsonb `labels`
 * column when the table has one, else the request is refused.
 */
export interface IngestSpec {
  unknownFields?: UnknownFieldsPolicy;
}

export interface TieringSpec {
  every: string;
  batchRows: number;
}

export interface TieredTableSpec {
  table: string;
  /** PostgreSQL schema of the hot table. */
  schema: string;
  timeColumn: string;
  columns: ColumnSpec[];
  mode: TableMode;
  hot: HotSpec;
  cold: ColdSpec;
  rollups: RollupSpec[];
  tiering: TieringSpec;
  deletionPolicy: DeletionPolicy;
  ingest?: IngestSpec;
}

/** What a user writes: everything but table, timeColumn and columns may be left out. */
export type TieredTableInput = {
  table: string;
  schema?: string;
  timeColumn: string;
  columns: ColumnSpec[];
  mode?: TableMode;
  hot?: Partial<HotSpec>;
  cold?: Partial<ColdSpec>;
  rollups?: RollupSpec[];
  tiering?: Partial<TieringSpec>;
  deletionPolicy?: DeletionPolicy;
  ingest?: IngestSpec;
};

/** The Kubernetes-shaped document (`kind: TieredTable`) the CLI and operator read. */
export interface TieredTableResource {
  apiVersion: typeof TIERED_TABLE_API_VERSION;
  kind: typeof TIERED_TABLE_KIND;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  spec: TieredTableInput;
  status?: TieredTableStatus;
}

/** Condition types the operator maintains in `status.conditions`. */
export const CONDITION_TYPES = ['Ready', 'HotReady', 'ColdReady', 'SchemaInSync', 'TieringHealthy'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  /** RFC 3339. */
  lastTransitionTime: string;
  /** CamelCase, machine-readable. */
  reason: string;
  message: string;
}

export interface LastTieringStatus {
  rows?: number;
  bytes?: number;
  durationMs?: number;
  /** Absent when the run succeeded. */
  error?: string;
  /** RFC 3339. */
  finishedAt?: string;
}

export interface TieredTableStatus {
  observedGeneration?: number;
  /** RFC 3339: rows older than this are authoritative in ClickHouse. */
  watermark?: string;
  conditions?: Condition[];
  lastTiering?: LastTieringStatus;
  rowsHot?: number;
  rowsCold?: number;
  /** Whole seconds between the last status update and the watermark. */
  lagSeconds?: number;
}
