/**
 * The OpenAPI v3 schema of a TieredTable's `spec` and `status`: the one source of truth
 * for its shape. crd.ts generates the CRD from it; validate.ts runs it through ajv and
 * then checks what a schema cannot say.
 *
 * It is written to be a Kubernetes *structural* schema: every node has a type, lists of
 * named things are `x-kubernetes-list-type: map` (the API server then rejects duplicate
 * names), lists of scalars are `set` (not `uniqueItems`, which structural schemas
 * forbid), and every string and list is bounded so the API server's cost estimate for the
 * CEL rules stays under its limits. Cross-field rules that the API server can check are
 * `x-kubernetes-validations` (CEL); ajv ignores those keywords and validate.ts repeats
 * them as plain TypeScript, with better messages.
 *
 * `additionalProperties: false` is here for ajv (unknown spec fields are errors for the
 * CLI); crd.ts removes it, because structural schemas forbid it next to `properties`.
 * The API server instead prunes unknown fields, and kubectl's default server-side field
 * validation (Strict) reports them as errors.
 */

import { COLD_PARTITION_DEFAULTS, TIERED_TABLE_DEFAULTS } from './defaults';
import { DURATION_PATTERN } from './duration';
import { PG_TYPE_PATTERN, TIME_PG_TYPE_PATTERN } from './pg-types';
import { AGGREGATES, COLD_INDEX_TYPES, COLD_TEXT_TOKENIZERS, DELETION_POLICIES, LABELS_COLUMN, PARTITION_BY, TABLE_MODES, UNKNOWN_FIELDS_POLICIES } from './tiered-table';

export interface CelRule {
  rule: string;
  message: string;
  /** Where the API server reports the error, relative to the node carrying the rule. */
  fieldPath?: string;
}

/** The subset of OpenAPI v3 / JSON Schema that a structural CRD schema uses. */
export interface OpenApiSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  additionalProperties?: boolean | OpenApiSchema;
  items?: OpenApiSchema;
  enum?: readonly string[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  default?: unknown;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: CelRule[];
}

// ---- identifiers ----------------------------------------------------------------------

export const IDENTIFIER_PATTERN = '^[a-z_][a-z0-9_]*$';
/** PostgreSQL's NAMEDATALEN is 64 bytes including the terminator; longer names are cut. */
export const IDENTIFIER_MAX_LENGTH = 63;

/**
 * PostgreSQL keywords that cannot be a table or column name unless quoted (the
 * "reserved" and "reserved (can be function or type)" rows of the SQL Key Words
 * appendix). Strata quotes every name it emits, but users typing SQL in psql or Grafana
 * do not, so such names are refused up front.
 */
export const PG_RESERVED_WORDS = [
  'all', 'analyse', 'analyze', 'and', 'any', 'array', 'as', 'asc', 'asymmetric', 'authorization',
  'binary', 'both', 'case', 'cast', 'check', 'collate', 'collation', 'column', 'concurrently',
  'constraint', 'create', 'cross', 'current_catalog', 'current_date', 'current_role',
  'current_schema', 'current_time', 'current_timestamp', 'current_user', 'default',
  'deferrable', 'desc', 'distinct', 'do', 'else', 'end', 'except', 'false', 'fetch', 'for',
  'foreign', 'freeze', 'from', 'full', 'grant', 'group', 'having', 'ilike', 'in', 'initially',
  'inner', 'intersect', 'into', 'is', 'isnull', 'join', 'lateral', 'leading', 'left', 'like',
  'limit', 'localtime', 'localtimestamp', 'natural', 'not', 'notnull', 'null', 'offset', 'on',
  'only', 'or', 'order', 'outer', 'overlaps', 'placing', 'primary', 'references', 'returning',
  'right', 'select', 'session_user', 'similar', 'some', 'symmetric', 'system_user', 'table',
  'tablesample', 'then', 'to', 'trailing', 'true', 'union', 'unique', 'user', 'using',
  'variadic', 'verbose', 'when', 'where', 'window', 'with',
] as const;

/** Strata's own cold-tier columns start with this (`_strata_gen`). */
export const RESERVED_COLUMN_PREFIX = '_strata';

const IDENTIFIER_WHY =
  `Lower-case letters, digits and _, starting with a letter or _, at most ${IDENTIFIER_MAX_LENGTH} characters: ` +
  'such a name means the same unquoted in PostgreSQL and ClickHouse (no case folding, no quoting), ' +
  "and fits PostgreSQL's NAMEDATALEN, past which PostgreSQL silently truncates names.";

function identifier(what: string, extra: Partial<OpenApiSchema> = {}): OpenApiSchema {
  return {
    type: 'string',
    description: `${what} ${IDENTIFIER_WHY}`,
    pattern: IDENTIFIER_PATTERN,
    minLength: 1,
    maxLength: IDENTIFIER_MAX_LENGTH,
    ...extra,
  };
}

const celStringList = (words: readonly string[]): string => `[${words.map((w) => `'${w}'`).join(', ')}]`;

/** A name the user defines (table, schema, column): an identifier that is not a reserved word. */
function definedName(what: string, extra: Partial<OpenApiSchema> = {}): OpenApiSchema {
  const rules: CelRule[] = [
    {
      rule: `!(self in ${celStringList(PG_RESERVED_WORDS)})`,
      message: 'must not be a reserved PostgreSQL keyword (it would need quoting in every query)',
    },
    ...(extra['x-kubernetes-validations'] ?? []),
  ];
  return identifier(what, { ...extra, 'x-kubernetes-validations': rules });
}

/**
 * A rollup's name is the suffix of its ClickHouse table `<table>__rollup_<name>`, not a
 * name on its own, so it may start with a digit: `1m`, `1h`.
 */
export const ROLLUP_NAME_PATTERN = '^[a-z0-9_]+$';
/** `lower(col)` / `upper(col)`: the only index expressions, so an index matches what the proxy pushes. */
export const COLD_INDEX_EXPRESSION_PATTERN = '^(lower|upper)\\(([a-z_][a-z0-9_]*)\\)$';
/** ClickHouse cluster names come from server config (`remote_servers`), where `-` and `.` are common. */
export const CLUSTER_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_.-]*$';

const immutable = (what: string): CelRule => ({ rule: 'self == oldSelf', message: `${what} is immutable` });

// ---- scalars --------------------------------------------------------------------------

function duration(description: string, def?: string): OpenApiSchema {
  return {
    type: 'string',
    description: `${description} A duration such as 30s, 5m, 1h, 7d, 2w or 1h30m (units w, d, h, m, s, largest first; d = 24h, w = 7d).`,
    pattern: DURATION_PATTERN,
    // The pattern alone also matches the empty string.
    minLength: 2,
    maxLength: 32,
    ...(def !== undefined ? { default: def } : {}),
  };
}

/** Bounds that keep the CEL cost estimate within the API server's limits. */
export const SPEC_LIMITS = {
  /** PostgreSQL's own limit is 1600; observability tables use tens. */
  columns: 256,
  orderBy: 16,
  indexes: 16,
  indexColumns: 8,
  coldIndexes: 32,
  rollups: 16,
  groupBy: 16,
  aggregatedColumns: 32,
  typeLength: 64,
} as const;

// ---- spec -----------------------------------------------------------------------------

const columnSchema: OpenApiSchema = {
  type: 'object',
  description: 'One column of both tiers.',
  required: ['name', 'type'],
  additionalProperties: false,
  properties: {
    name: definedName('Column name.', {
      'x-kubernetes-validations': [
        { rule: `!self.startsWith('${RESERVED_COLUMN_PREFIX}')`, message: `names starting with ${RESERVED_COLUMN_PREFIX} are reserved for Strata` },
      ],
    }),
    type: {
      type: 'string',
      description:
        'PostgreSQL type: timestamptz, timestamp, text, varchar(n), double precision, real, bigint, integer, ' +
        'smallint, boolean, numeric(p,s) with p ≤ 76, date, uuid or jsonb (common aliases such as float8, int4, bool accepted). ' +
        'Each has an exact ClickHouse counterpart, so a value reads the same from either tier.',
      minLength: 1,
      maxLength: SPEC_LIMITS.typeLength,
      'x-kubernetes-validations': [
        {
          rule: `self.lowerAscii().matches('${celRegex(PG_TYPE_PATTERN)}')`,
          message:
            'unsupported type: use timestamptz, timestamp, text, varchar(n), double precision, real, bigint, integer, ' +
            'smallint, boolean, numeric(p,s), date, uuid or jsonb (json: use jsonb; plain numeric: use numeric(p,s))',
        },
      ],
    },
    notNull: { type: 'boolean', description: 'NOT NULL on both tiers. The time column is always NOT NULL.' },
  },
};

const hotSchema: OpenApiSchema = {
  type: 'object',
  description: 'The PostgreSQL tier (TimescaleDB hypertable where the extension exists, native range partitions otherwise). Ignored for cold-only tables.',
  additionalProperties: false,
  properties: {
    chunkInterval: duration('Width of one hypertable chunk or native partition.', TIERED_TABLE_DEFAULTS.hot.chunkInterval),
    retention: duration(
      'Rows older than this move to ClickHouse (hot-then-cold) or are dropped (hot-only). At least chunkInterval.',
      TIERED_TABLE_DEFAULTS.hot.retention,
    ),
    compression: {
      type: 'object',
      description: 'TimescaleDB native compression; ignored where the extension is absent.',
      required: ['after'],
      additionalProperties: false,
      properties: { after: duration('Compress chunks older than this.') },
    },
    indexes: {
      type: 'array',
      description: 'Extra b-tree indexes on the hot table, each a list of column names (the time column is appended, descending).',
      maxItems: SPEC_LIMITS.indexes,
      'x-kubernetes-list-type': 'atomic',
      items: {
        type: 'array',
        minItems: 1,
        maxItems: SPEC_LIMITS.indexColumns,
        'x-kubernetes-list-type': 'set',
        items: identifier('Column name.'),
      },
    },
  },
};

const coldSchema: OpenApiSchema = {
  type: 'object',
  description: 'The ClickHouse tier: a MergeTree table (ReplicatedMergeTree + Distributed with cluster).',
  additionalProperties: false,
  properties: {
    orderBy: {
      type: 'array',
      description:
        'MergeTree sort key, column names. Default: [timeColumn]. Put low-cardinality label columns first, then time, e.g. [app, host, time].',
      minItems: 1,
      maxItems: SPEC_LIMITS.orderBy,
      'x-kubernetes-list-type': 'set',
      items: identifier('Column name.'),
    },
    partitionBy: {
      type: 'string',
      description:
        'ClickHouse partition granularity of the time column. ' +
        `Default: ${COLD_PARTITION_DEFAULTS.coarse} when orderBy starts with timeColumn and retention is absent or at least ${COLD_PARTITION_DEFAULTS.monthsFrom}, ` +
        `else ${COLD_PARTITION_DEFAULTS.fine}: a label-first sort key cuts short ranges by partition, a time-first one by its own key, and fewer partitions make reads across the table cheaper. ` +
        'Fixed when the table is created.',
      enum: PARTITION_BY,
    },
    retention: duration('Rows older than this are deleted by ClickHouse TTL. Absent: kept forever.'),
    cluster: {
      type: 'string',
      description: 'ClickHouse cluster (remote_servers) for ON CLUSTER DDL, ReplicatedMergeTree and Distributed tables.',
      pattern: CLUSTER_NAME_PATTERN,
      minLength: 1,
      maxLength: 255,
    },
    indexes: {
      type: 'array',
      description:
        'ClickHouse data-skipping indexes (minmax, set, bloom_filter, tokenbf_v1, ngrambf_v1) and text (full-text) indexes on the raw cold table. ' +
        'strata apply and the operator add, change (drop and re-add) and drop them, and build them for rows already stored (MATERIALIZE INDEX).',
      maxItems: SPEC_LIMITS.coldIndexes,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: coldIndexSchema(),
    },
  },
};

function coldIndexSchema(): OpenApiSchema {
  return {
    type: 'object',
    description: 'One ClickHouse index: over column, or over expression lower(<column>) / upper(<column>) (what the proxy pushes for ILIKE and lower()/upper() comparisons).',
    required: ['name', 'type'],
    additionalProperties: false,
    properties: {
      name: identifier('Index name in ClickHouse.'),
      column: identifier('The indexed column (this or expression).'),
      expression: {
        type: 'string',
        description: 'lower(<column>) or upper(<column>) instead of column.',
        pattern: COLD_INDEX_EXPRESSION_PATTERN,
        maxLength: IDENTIFIER_MAX_LENGTH + 7,
      },
      type: {
        type: 'string',
        description:
          'minmax; set (params [maxRows], 0 = unlimited); bloom_filter (params [] or [falsePositiveRate]); ' +
          'tokenbf_v1 (params [bytes, hashes, seed]) and ngrambf_v1 (params [n, bytes, hashes, seed]) on notNull text columns; ' +
          'text, the full-text index, on text columns (tokenizer splitByNonAlpha by default).',
        enum: COLD_INDEX_TYPES,
      },
      params: {
        type: 'array',
        description: "The type's arguments, in ClickHouse's order.",
        maxItems: 4,
        'x-kubernetes-list-type': 'atomic',
        items: { type: 'number' },
      },
      tokenizer: { type: 'string', description: 'Tokenizer of a text index.', enum: COLD_TEXT_TOKENIZERS },
      granularity: { type: 'integer', description: "Granules per index block. Absent: ClickHouse's default for the type.", minimum: 1, maximum: 1_000_000_000 },
    },
  };
}


const rollupSchema: OpenApiSchema = {
  type: 'object',
  description: 'A downsampled aggregate kept in ClickHouse, built from the rows the tierer moves.',
  required: ['name', 'interval', 'groupBy', 'aggregates'],
  additionalProperties: false,
  properties: {
    name: {
      type: 'string',
      description: 'Suffix of the ClickHouse table <table>__rollup_<name>; lower-case letters, digits and _, e.g. 1m, 1h.',
      pattern: ROLLUP_NAME_PATTERN,
      minLength: 1,
      maxLength: IDENTIFIER_MAX_LENGTH,
    },
    interval: duration('Bucket width, at least 1s.'),
    groupBy: {
      type: 'array',
      description: 'Columns that identify a series (not the time column: buckets replace it). May be empty.',
      maxItems: SPEC_LIMITS.groupBy,
      'x-kubernetes-list-type': 'set',
      items: identifier('Column name.'),
    },
    aggregates: {
      type: 'object',
      description: 'Column name → aggregates kept for it. avg, min, max and sum need a numeric column; count takes any.',
      minProperties: 1,
      maxProperties: SPEC_LIMITS.aggregatedColumns,
      additionalProperties: {
        type: 'array',
        minItems: 1,
        maxItems: AGGREGATES.length,
        'x-kubernetes-list-type': 'set',
        items: { type: 'string', enum: AGGREGATES },
      },
    },
    retention: duration('Rollup rows older than this are deleted by ClickHouse TTL. Absent: kept forever.'),
  },
};

const tieringSchema: OpenApiSchema = {
  type: 'object',
  description: 'How the tierer moves rows from PostgreSQL to ClickHouse.',
  additionalProperties: false,
  properties: {
    every: duration('How often a tiering run starts.', TIERED_TABLE_DEFAULTS.tiering.every),
    batchRows: {
      type: 'integer',
      description: 'Rows per copy batch: larger batches move faster, smaller ones hold less memory and retry less work.',
      minimum: 1000,
      maximum: 10_000_000,
      default: TIERED_TABLE_DEFAULTS.tiering.batchRows,
    },
  },
};

const ingestSchema: OpenApiSchema = {
  type: 'object',
  description: 'How the ingest gateway treats the rows it writes into this table.',
  additionalProperties: false,
  properties: {
    unknownFields: {
      type: 'string',
      description:
        `What a row field that names no column becomes. labels: a key of the jsonb ${LABELS_COLUMN} column (the table needs one). ` +
        'addColumns: a new column on both tiers, its type taken from the JSON value (number: double precision, string: text, ' +
        'boolean: boolean, object or array: jsonb); the gateway evolves the table and this TieredTable before writing the row. ' +
        `reject: the request is refused. Absent: labels when the table has a jsonb ${LABELS_COLUMN} column, else reject.`,
      enum: UNKNOWN_FIELDS_POLICIES,
    },
  },
};

/** True when column `k` exists, as CEL over the spec (`self`). */
const celColumnExists = (k: string): string => `self.columns.exists(c, c.name == ${k})`;

export const tieredTableSpecSchema: OpenApiSchema = {
  type: 'object',
  description: 'A table whose recent rows live in PostgreSQL and older rows in ClickHouse, queried as one.',
  required: ['table', 'timeColumn', 'columns'],
  additionalProperties: false,
  properties: {
    table: definedName('Table name in both tiers. Immutable.', { 'x-kubernetes-validations': [immutable('table')] }),
    schema: definedName('PostgreSQL schema of the hot table. Immutable.', {
      default: TIERED_TABLE_DEFAULTS.schema,
      'x-kubernetes-validations': [immutable('schema')],
    }),
    timeColumn: identifier('The column rows are tiered by; one of columns, of type timestamptz or timestamp. Immutable.', {
      'x-kubernetes-validations': [immutable('timeColumn')],
    }),
    columns: {
      type: 'array',
      description: 'Columns, in table order.',
      minItems: 1,
      maxItems: SPEC_LIMITS.columns,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: columnSchema,
    },
    mode: {
      type: 'string',
      description: 'hot-only (PostgreSQL only), hot-then-cold (rows move to ClickHouse after hot.retention), or cold-only (rows written straight to ClickHouse). Immutable.',
      enum: TABLE_MODES,
      default: TIERED_TABLE_DEFAULTS.mode,
      'x-kubernetes-validations': [immutable('mode')],
    },
    hot: hotSchema,
    cold: coldSchema,
    rollups: {
      type: 'array',
      description: 'Downsampled aggregates in ClickHouse. Not for hot-only tables.',
      maxItems: SPEC_LIMITS.rollups,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: rollupSchema,
    },
    tiering: tieringSchema,
    deletionPolicy: {
      type: 'string',
      description: 'What deleting the TieredTable does to its tables: Retain keeps them, Delete drops both tiers.',
      enum: DELETION_POLICIES,
      default: TIERED_TABLE_DEFAULTS.deletionPolicy,
    },
    ingest: ingestSchema,
  },
  // Each rule has a twin in validate.ts (semanticErrors), which the CLI runs.
  'x-kubernetes-validations': [
    {
      rule: celColumnExists('self.timeColumn'),
      message: 'timeColumn must be the name of one of the columns',
      fieldPath: '.timeColumn',
    },
    {
      rule:
        `!${celColumnExists('self.timeColumn')} || ` +
        `self.columns.exists(c, c.name == self.timeColumn && c.type.lowerAscii().matches('${celRegex(TIME_PG_TYPE_PATTERN)}'))`,
      message: 'the time column must be of type timestamptz or timestamp',
      fieldPath: '.timeColumn',
    },
    {
      rule: `!has(self.cold) || !has(self.cold.orderBy) || self.cold.orderBy.all(o, ${celColumnExists('o')})`,
      message: 'cold.orderBy must name columns',
      fieldPath: '.cold.orderBy',
    },
    {
      rule: `!has(self.hot) || !has(self.hot.indexes) || self.hot.indexes.all(ix, ix.all(o, ${celColumnExists('o')}))`,
      message: 'hot.indexes must name columns',
      fieldPath: '.hot.indexes',
    },
    {
      rule: `!has(self.rollups) || self.rollups.all(r, r.groupBy.all(g, ${celColumnExists('g')} && g != self.timeColumn))`,
      message: 'rollups[].groupBy must name columns other than the time column',
      fieldPath: '.rollups',
    },
    {
      rule: `!has(self.rollups) || self.rollups.all(r, r.aggregates.all(k, ${celColumnExists('k')}))`,
      message: 'rollups[].aggregates must name columns',
      fieldPath: '.rollups',
    },
    {
      rule: `!has(self.rollups) || size(self.rollups) == 0 || !has(self.mode) || self.mode != 'hot-only'`,
      message: 'rollups are built in ClickHouse: a hot-only table cannot have them',
      fieldPath: '.rollups',
    },
    {
      rule:
        `!has(self.ingest) || !has(self.ingest.unknownFields) || self.ingest.unknownFields != 'labels' || ` +
        `self.columns.exists(c, c.name == '${LABELS_COLUMN}' && c.type.lowerAscii() == 'jsonb')`,
      message: `ingest.unknownFields labels needs a jsonb column named ${LABELS_COLUMN}`,
      fieldPath: '.ingest.unknownFields',
    },
  ],
};

// ---- status ---------------------------------------------------------------------------

/** metav1.Condition, as Kubernetes' own CRDs spell it. */
const conditionSchema: OpenApiSchema = {
  type: 'object',
  description: 'A standard metav1.Condition: Ready, HotReady, ColdReady, SchemaInSync, TieringHealthy.',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: {
      type: 'string',
      maxLength: 316,
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    reason: { type: 'string', minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' },
    message: { type: 'string', maxLength: 32768 },
  },
};

export const tieredTableStatusSchema: OpenApiSchema = {
  type: 'object',
  description: 'Written by the operator.',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64', description: 'The metadata.generation this status describes.' },
    watermark: {
      type: 'string',
      format: 'date-time',
      description: 'W: rows with time < W are authoritative in ClickHouse, rows with time ≥ W in PostgreSQL.',
    },
    conditions: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: conditionSchema,
    },
    lastTiering: {
      type: 'object',
      description: 'The most recent tiering run.',
      properties: {
        rows: { type: 'integer', format: 'int64', description: 'Rows moved.' },
        bytes: { type: 'integer', format: 'int64', description: 'Bytes moved (uncompressed).' },
        durationMs: { type: 'integer', format: 'int64', description: 'Wall time of the run.' },
        error: { type: 'string', description: 'Why the run failed; absent when it succeeded.' },
        finishedAt: { type: 'string', format: 'date-time' },
      },
    },
    rowsHot: { type: 'integer', format: 'int64', description: 'Rows in PostgreSQL (estimate).' },
    rowsCold: { type: 'integer', format: 'int64', description: 'Rows in ClickHouse.' },
    lagSeconds: {
      type: 'integer',
      format: 'int64',
      description: 'Seconds between the last status update and the watermark: how old the oldest hot row is.',
    },
  },
};

/** A JS regular-expression source as a single-quoted CEL string literal body. */
function celRegex(source: string): string {
  return source.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}
