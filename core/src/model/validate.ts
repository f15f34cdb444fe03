import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { coldIndexErrors } from './cold-index-rules';
import { withDefaults } from './defaults';
import { DURATION_EXAMPLES, DURATION_PATTERN, parseDuration } from './duration';
import { isNumericPgType, parsePgType, TIME_PG_TYPE_KINDS, type PgType } from './pg-types';
import {
  CLUSTER_NAME_PATTERN,
  COLD_INDEX_EXPRESSION_PATTERN,
  IDENTIFIER_MAX_LENGTH,
  IDENTIFIER_PATTERN,
  PG_RESERVED_WORDS,
  RESERVED_COLUMN_PREFIX,
  ROLLUP_NAME_PATTERN,
  tieredTableSpecSchema,
  type OpenApiSchema,
} from './schema';
import {
  TIERED_TABLE_API_VERSION,
  TIERED_TABLE_GROUP,
  TIERED_TABLE_KIND,
  LABELS_COLUMN,
  type TieredTableInput,
  type TieredTableResource,
  type TieredTableSpec,
} from './tiered-table';

/** One problem with a document, at a path such as `spec.columns[2].type`. */
export interface FieldError {
  /** Path from the validated value's root; `''` is the root itself. */
  field: string;
  message: string;
}

export type TieredTableValidation = { ok: true; spec: TieredTableSpec } | { ok: false; errors: FieldError[] };

export function formatFieldError(e: FieldError): string {
  return e.field ? `${e.field}: ${e.message}` : e.message;
}

/** A TieredTable that cannot be used; the message lists every field error. */
export class TieredTableValidationError extends Error {
  readonly code = 'INVALID_SPEC' as const;
  constructor(
    readonly errors: FieldError[],
    /** What was invalid, for the message: `TieredTable "metrics-events"`, `document 2`. */
    readonly subject = 'TieredTable spec',
    options?: { cause?: unknown },
  ) {
    super(`${subject} is invalid:\n${errors.map((e) => `  ${formatFieldError(e)}`).join('\n')}`, options);
    this.name = 'TieredTableValidationError';
  }
}

/**
 * Validates a spec as a user wrote it (the value under `spec:`) and returns it with
 * defaults applied. Fields are relative to the spec: `columns[2].type`. Structural
 * errors (schema.ts, through ajv) come first; the checks a schema cannot express run
 * only on a structurally valid spec, so they can trust its shape.
 */
export function validateTieredTable(input: unknown): TieredTableValidation {
  return validateSpecAt(input, []);
}

/**
 * Validates a whole `kind: TieredTable` document and returns its defaulted spec, or
 * throws TieredTableValidationError with fields such as `spec.cold.orderBy[0]`.
 */
export function validateResource(doc: unknown, subject?: string): TieredTableSpec {
  const name = isObject(doc) && isObject(doc.metadata) && typeof doc.metadata.name === 'string' ? doc.metadata.name : undefined;
  const what = subject ?? (name !== undefined ? `TieredTable ${JSON.stringify(name)}` : 'TieredTable');
  const errors = envelopeErrors(doc);
  if (errors.length > 0) throw new TieredTableValidationError(errors, what);
  const r = validateSpecAt((doc as { spec: unknown }).spec, ['spec']);
  if (!r.ok) throw new TieredTableValidationError(r.errors, what);
  return r.spec;
}

/**
 * Reads a multi-document YAML manifest and returns its TieredTables, each validated
 * (their specs as written, without defaults: pass them to validateResource for the
 * defaulted spec). Documents of other kinds are skipped, so a TieredTable can live
 * beside the Namespace or Secret it needs. Throws TieredTableValidationError for the
 * first invalid document, naming it.
 */
export function parseTieredTableDocuments(yamlText: string): TieredTableResource[] {
  const out: TieredTableResource[] = [];
  const seenNames = new Map<string, number>();
  const seenTables = new Map<string, number>();
  parseAllDocuments(yamlText).forEach((doc, i) => {
    const n = i + 1;
    const at = `document ${n}`;
    if (doc.errors.length > 0) {
      throw new TieredTableValidationError(
        doc.errors.map((e) => ({ field: '', message: `not valid YAML: ${e.message}` })),
        at,
      );
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return; // an empty document, e.g. a trailing `---`
    if (!isObject(value)) throw new TieredTableValidationError([{ field: '', message: 'is not a Kubernetes object (a mapping with apiVersion and kind)' }], at);
    const isOurGroup = typeof value.apiVersion === 'string' && value.apiVersion.startsWith(`${TIERED_TABLE_GROUP}/`);
    if (value.kind !== TIERED_TABLE_KIND) {
      if (isOurGroup) {
        throw new TieredTableValidationError(
          [{ field: 'kind', message: `${JSON.stringify(value.kind)} is not a ${TIERED_TABLE_GROUP} kind; expected ${TIERED_TABLE_KIND}` }],
          at,
        );
      }
      return;
    }
    const name = isObject(value.metadata) && typeof value.metadata.name === 'string' ? value.metadata.name : undefined;
    const subject = name !== undefined ? `${at} (TieredTable ${JSON.stringify(name)})` : at;
    const spec = validateResource(value, subject);

    const namespace = isObject(value.metadata) && typeof value.metadata.namespace === 'string' ? value.metadata.namespace : '';
    const key = `${namespace}/${name}`;
    const dupName = seenNames.get(key);
    if (dupName !== undefined) {
      throw new TieredTableValidationError([{ field: 'metadata.name', message: `${JSON.stringify(name)} is also the name of document ${dupName}` }], subject);
    }
    const tableKey = `${spec.schema}.${spec.table}`;
    const dupTable = seenTables.get(tableKey);
    if (dupTable !== undefined) {
      throw new TieredTableValidationError([{ field: 'spec.table', message: `table ${tableKey} is also defined by document ${dupTable}` }], subject);
    }
    seenNames.set(key, n);
    seenTables.set(tableKey, n);
    out.push(value as unknown as TieredTableResource);
  });
  return out;
}

// ---- envelope -------------------------------------------------------------------------

function envelopeErrors(doc: unknown): FieldError[] {
  if (!isObject(doc)) return [{ field: '', message: `must be a ${TIERED_TABLE_KIND} object, got ${describe(doc)}` }];
  const errors: FieldError[] = [];
  if (doc.apiVersion !== TIERED_TABLE_API_VERSION) {
    errors.push({
      field: 'apiVersion',
      message:
        doc.apiVersion === undefined
          ? `is required: ${TIERED_TABLE_API_VERSION}`
          : `${JSON.stringify(doc.apiVersion)} is not supported; use ${TIERED_TABLE_API_VERSION}`,
    });
  }
  if (doc.kind !== TIERED_TABLE_KIND) {
    errors.push({ field: 'kind', message: `must be ${TIERED_TABLE_KIND}, got ${describe(doc.kind)}` });
  }
  if (!isObject(doc.metadata)) errors.push({ field: 'metadata', message: 'is required, with a name' });
  else if (typeof doc.metadata.name !== 'string' || doc.metadata.name === '') errors.push({ field: 'metadata.name', message: 'is required' });
  if (doc.spec === undefined || doc.spec === null) errors.push({ field: 'spec', message: 'is required' });
  return errors;
}

// ---- structure (ajv over schema.ts) ---------------------------------------------------

let compiled: ValidateFunction | undefined;
function structuralValidator(): ValidateFunction {
  // strict: false lets the x-kubernetes-* keywords through; formats are only in status.
  compiled ??= new Ajv({ allErrors: true, strict: false, verbose: true, validateFormats: false }).compile(tieredTableSpecSchema);
  return compiled;
}

type Segment = string | number;

function validateSpecAt(input: unknown, prefix: Segment[]): TieredTableValidation {
  const validate = structuralValidator();
  if (!validate(input)) {
    const seen = new Set<string>();
    const errors: FieldError[] = [];
    for (const e of validate.errors ?? []) {
      const fe = fromAjv(e, input, prefix);
      const key = `${fe.field}\0${fe.message}`;
      if (!seen.has(key)) {
        seen.add(key);
        errors.push(fe);
      }
    }
    return { ok: false, errors };
  }
  const typed = input as TieredTableInput;
  const spec = withDefaults(typed);
  const errors = semanticErrors(typed, spec).map((e) => ({ field: formatPath([...prefix, ...e.path]), message: e.message }));
  return errors.length > 0 ? { ok: false, errors } : { ok: true, spec };
}

function fromAjv(e: ErrorObject, data: unknown, prefix: Segment[]): FieldError {
  const path = [...prefix, ...pointerSegments(e.instancePath, data)];
  const schema = (e.parentSchema ?? {}) as OpenApiSchema;
  const value = e.data;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { field: formatPath([...path, String(params.missingProperty)]), message: 'is required' };
    case 'additionalProperties': {
      const unknownKey = String(params.additionalProperty);
      const known = Object.keys(schema.properties ?? {});
      const near = closest(unknownKey, known);
      const hint = near !== undefined ? `; did you mean ${JSON.stringify(near)}?` : `; expected one of: ${known.join(', ')}`;
      return { field: formatPath([...path, unknownKey]), message: `unknown field ${JSON.stringify(unknownKey)}${hint}` };
    }
    case 'type':
      return { field: formatPath(path), message: `must be ${article(String(params.type))}, got ${describe(value)}` };
    case 'enum':
      return { field: formatPath(path), message: `${JSON.stringify(value)} is not one of: ${(schema.enum ?? []).join(', ')}` };
    case 'pattern':
    case 'minLength':
    case 'maxLength':
      return { field: formatPath(path), message: stringMessage(e.keyword, schema, value) };
    case 'minimum':
    case 'maximum':
      return {
        field: formatPath(path),
        message:
          schema.minimum !== undefined && schema.maximum !== undefined
            ? `must be between ${schema.minimum} and ${schema.maximum}, got ${describe(value)}`
            : `must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${String(params.limit)}, got ${describe(value)}`,
      };
    case 'minItems':
    case 'maxItems':
    case 'minProperties':
    case 'maxProperties': {
      const limit = Number(params.limit);
      const noun = e.keyword.endsWith('Items') ? plural(limit, 'entry', 'entries') : plural(limit, 'key', 'keys');
      return { field: formatPath(path), message: `must have ${e.keyword.startsWith('min') ? 'at least' : 'at most'} ${limit} ${noun}` };
    }
    default:
      return { field: formatPath(path), message: e.message ?? `fails ${e.keyword}` };
  }
}

function stringMessage(keyword: string, schema: OpenApiSchema, value: unknown): string {
  const v = JSON.stringify(value);
  switch (schema.pattern) {
    case DURATION_PATTERN:
      return `${v} is not a duration like ${DURATION_EXAMPLES}`;
    case IDENTIFIER_PATTERN:
      return keyword === 'maxLength'
        ? `${v} is longer than ${IDENTIFIER_MAX_LENGTH} characters (PostgreSQL's NAMEDATALEN would truncate it)`
        : `${v} is not a valid name: use lower-case letters, digits and _, starting with a letter or _`;
    case ROLLUP_NAME_PATTERN:
      return keyword === 'maxLength'
        ? `${v} is longer than ${IDENTIFIER_MAX_LENGTH} characters`
        : `${v} is not a valid rollup name: use lower-case letters, digits and _, e.g. 1m`;
    case COLD_INDEX_EXPRESSION_PATTERN:
      return `${v} is not an index expression: use lower(<column>) or upper(<column>), or give column instead`;
    case CLUSTER_NAME_PATTERN:
      return `${v} is not a ClickHouse cluster name: letters, digits, _, - and ., starting with a letter or _`;
  }
  if (keyword === 'maxLength') return `must be at most ${schema.maxLength} characters long`;
  if (keyword === 'minLength') return schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters long`;
  return `${v} does not match ${schema.pattern}`;
}

// ---- semantics: what the schema cannot say -------------------------------------------

interface SemanticError {
  path: Segment[];
  message: string;
}

/**
 * Each check here that the API server can also make has a CEL twin in schema.ts; the
 * rest (duration arithmetic, pg-types' reasons, duplicate names that list-type map
 * catches only in Kubernetes) live only here.
 */
function semanticErrors(input: TieredTableInput, spec: TieredTableSpec): SemanticError[] {
  const errors: SemanticError[] = [];
  const err = (path: Segment[], message: string) => errors.push({ path, message });

  if (isReservedWord(spec.table)) err(['table'], reservedMessage(spec.table));
  if (isReservedWord(spec.schema)) err(['schema'], reservedMessage(spec.schema));

  // Columns: unique, not reserved, of a supported type.
  const types = new Map<string, PgType | undefined>();
  const firstAt = new Map<string, number>();
  spec.columns.forEach((c, i) => {
    const dup = firstAt.get(c.name);
    if (dup !== undefined) err(['columns', i, 'name'], `duplicate column name ${JSON.stringify(c.name)} (also columns[${dup}])`);
    else firstAt.set(c.name, i);
    if (isReservedWord(c.name)) err(['columns', i, 'name'], reservedMessage(c.name));
    if (c.name.startsWith(RESERVED_COLUMN_PREFIX)) err(['columns', i, 'name'], `names starting with ${RESERVED_COLUMN_PREFIX} are reserved for Strata's own columns`);
    const t = parsePgType(c.type);
    if (!t.ok) err(['columns', i, 'type'], t.reason);
    if (!types.has(c.name)) types.set(c.name, t.ok ? t.type : undefined);
  });
  const columnList = describeList(spec.columns.map((c) => c.name));
  const notAColumn = (name: string) => `${JSON.stringify(name)} is not a column (columns: ${columnList})`;

  // The time column.
  if (!types.has(spec.timeColumn)) {
    err(['timeColumn'], notAColumn(spec.timeColumn));
  } else {
    const t = types.get(spec.timeColumn);
    if (t !== undefined && !TIME_PG_TYPE_KINDS.includes(t.kind)) {
      err(['timeColumn'], `column ${JSON.stringify(spec.timeColumn)} is ${t.pgName}; the time column must be timestamptz or timestamp`);
    }
  }

  const durationMs = (path: Segment[], value: string): number | undefined => {
    try {
      const ms = parseDuration(value);
      if (ms === 0) {
        err(path, 'must be longer than 0s');
        return undefined;
      }
      return ms;
    } catch (e) {
      err(path, (e as Error).message);
      return undefined;
    }
  };
  const defaulted = (given: unknown) => (given === undefined ? ' (the default)' : '');

  // Hot tier: a cold-only table has none, whatever its spec says.
  let hotRetentionMs: number | undefined;
  if (spec.mode !== 'cold-only') {
    const chunk = durationMs(['hot', 'chunkInterval'], spec.hot.chunkInterval);
    hotRetentionMs = durationMs(['hot', 'retention'], spec.hot.retention);
    if (chunk !== undefined && hotRetentionMs !== undefined && hotRetentionMs < chunk) {
      err(
        ['hot', 'retention'],
        `${spec.hot.retention}${defaulted(input.hot?.retention)} is shorter than hot.chunkInterval ${spec.hot.chunkInterval}${defaulted(input.hot?.chunkInterval)}: ` +
          'chunks leave PostgreSQL whole, so retention must be at least one chunk',
      );
    }
    if (spec.hot.compression) durationMs(['hot', 'compression', 'after'], spec.hot.compression.after);
    spec.hot.indexes?.forEach((cols, i) => {
      cols.forEach((col, j) => {
        if (!types.has(col)) err(['hot', 'indexes', i, j], notAColumn(col));
        else if (cols.indexOf(col) !== j) err(['hot', 'indexes', i, j], `${JSON.stringify(col)} is listed twice`);
      });
    });
  }

  // Cold tier.
  spec.cold.orderBy.forEach((col, i) => {
    if (!types.has(col)) err(['cold', 'orderBy', i], notAColumn(col));
    else if (spec.cold.orderBy.indexOf(col) !== i) err(['cold', 'orderBy', i], `${JSON.stringify(col)} is listed twice`);
  });
  if (spec.mode !== 'hot-only') for (const e of coldIndexErrors(spec, types, notAColumn)) err(e.path, e.message);
  else if (spec.cold.indexes?.length) err(['cold', 'indexes'], 'a hot-only table has no cold tier to index');
  if (spec.cold.retention !== undefined) {
    const coldRetention = durationMs(['cold', 'retention'], spec.cold.retention);
    if (spec.mode === 'hot-then-cold' && coldRetention !== undefined && hotRetentionMs !== undefined && coldRetention < hotRetentionMs) {
      err(
        ['cold', 'retention'],
        `${spec.cold.retention} is shorter than hot.retention ${spec.hot.retention}${defaulted(input.hot?.retention)}: ` +
          'rows would expire in ClickHouse as soon as they arrive',
      );
    }
  }

  // Rollups.
  if (spec.mode === 'hot-only' && spec.rollups.length > 0) {
    err(['rollups'], 'a hot-only table cannot have rollups: they are built in ClickHouse from the rows that move there');
  }
  const rollupAt = new Map<string, number>();
  spec.rollups.forEach((r, i) => {
    const dup = rollupAt.get(r.name);
    if (dup !== undefined) err(['rollups', i, 'name'], `duplicate rollup name ${JSON.stringify(r.name)} (also rollups[${dup}])`);
    else rollupAt.set(r.name, i);
    const interval = durationMs(['rollups', i, 'interval'], r.interval);
    if (interval !== undefined && interval < 1000) err(['rollups', i, 'interval'], 'must be at least 1s');
    if (r.retention !== undefined) durationMs(['rollups', i, 'retention'], r.retention);
    r.groupBy.forEach((col, j) => {
      if (!types.has(col)) err(['rollups', i, 'groupBy', j], notAColumn(col));
      else if (col === spec.timeColumn) err(['rollups', i, 'groupBy', j], `${JSON.stringify(col)} is the time column: rollups group by its buckets already`);
      else if (r.groupBy.indexOf(col) !== j) err(['rollups', i, 'groupBy', j], `${JSON.stringify(col)} is listed twice`);
    });
    for (const [col, aggs] of Object.entries(r.aggregates)) {
      const path: Segment[] = ['rollups', i, 'aggregates', col];
      if (!types.has(col)) {
        err(path, notAColumn(col));
        continue;
      }
      const t = types.get(col);
      const needNumeric = aggs.filter((a) => a !== 'count');
      if (t !== undefined && needNumeric.length > 0 && !isNumericPgType(t)) {
        err(path, `${needNumeric.join(', ')} ${needNumeric.length === 1 ? 'needs' : 'need'} a numeric column, and ${JSON.stringify(col)} is ${t.pgName}; count works on any column`);
      }
      aggs.forEach((a, j) => {
        if (aggs.indexOf(a) !== j) err([...path, j], `${JSON.stringify(a)} is listed twice`);
      });
    }
  });

  durationMs(['tiering', 'every'], spec.tiering.every);

  if (spec.ingest?.unknownFields === 'labels' && !spec.columns.some((c) => c.name === LABELS_COLUMN && types.get(c.name)?.kind === 'jsonb')) {
    err(['ingest', 'unknownFields'], `labels keeps unknown fields in a jsonb column named ${LABELS_COLUMN}, and the table has none: add it, or use addColumns or reject`);
  }
  return errors;
}

/**
 * Why `name` cannot be a column name (the rules of columns[].name, checked alone), or
 * undefined when it can: for callers that invent columns, such as the gateway adding one
 * per new row field.
 */
export function columnNameProblem(name: string): string | undefined {
  if (name.length > IDENTIFIER_MAX_LENGTH) return `is longer than ${IDENTIFIER_MAX_LENGTH} characters (PostgreSQL's NAMEDATALEN would truncate it)`;
  if (!new RegExp(IDENTIFIER_PATTERN).test(name)) return 'is not a valid column name: use lower-case letters, digits and _, starting with a letter or _';
  if (isReservedWord(name)) return 'is a reserved PostgreSQL keyword: every query would have to quote it';
  if (name.startsWith(RESERVED_COLUMN_PREFIX)) return `starts with ${RESERVED_COLUMN_PREFIX}, which is reserved for Strata's own columns`;
  return undefined;
}

const RESERVED = new Set<string>(PG_RESERVED_WORDS);
function isReservedWord(name: string): boolean {
  return RESERVED.has(name);
}
function reservedMessage(name: string): string {
  return `${JSON.stringify(name)} is a reserved PostgreSQL keyword: every query would have to quote it`;
}

// ---- paths and wording ----------------------------------------------------------------

/** JSON pointer → segments, using the data to tell array indexes from object keys. */
function pointerSegments(pointer: string, data: unknown): Segment[] {
  if (pointer === '') return [];
  const out: Segment[] = [];
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const index = Number(key);
      out.push(index);
      node = node[index];
    } else {
      out.push(key);
      node = isObject(node) ? node[key] : undefined;
    }
  }
  return out;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
function formatPath(path: Segment[]): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) s += s === '' ? seg : `.${seg}`;
    else s += `[${JSON.stringify(seg)}]`;
  }
  return s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

function article(type: string): string {
  const noun = { object: 'an object', array: 'a list', integer: 'an integer' }[type];
  return noun ?? `a ${type}`;
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

function describeList(names: string[]): string {
  return names.length <= 12 ? names.join(', ') : `${names.slice(0, 12).join(', ')}, …`;
}

/** The known key a typo most likely meant: case-insensitive equal, or within two edits. */
function closest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
