import type { EncodedRows } from '../model/json-copy';
import { escapeCopyText, floatText, type TableModel } from '../model/table-model';
import { formatMicros, inRange } from '../model/timestamp';
import { unsignedNanosToMicros } from '../model/int64';
import { resourceOf, scopeOf, type Obj } from './otlp-map';
import { protoType } from './proto-root';
import { bail, WIRE, WireBail, WireReader } from './proto-wire';

/**
 * The OTLP/HTTP metrics hot path: an ExportMetricsServiceRequest's bytes straight to
 * otel_metrics COPY text, for requests of gauges and sums (what SDKs mostly send).
 * protobufjs decode → toObject → row objects → encodeRow allocates several objects per
 * data point and cost the gateway more CPU than PostgreSQL spends storing the row.
 *
 * Resource and scope (once per request part) still go through protobufjs and otlp-map;
 * data points are read here. Anything else — histograms, summaries, attribute values
 * that are arrays, maps, bytes or unsafe integers, a repeated singular field, a
 * `__proto__` key, malformed input — returns undefined and the caller takes the general
 * path (decodeOtlpProtobuf + metricsRows + encodeRow), which also words every error.
 * For every request it accepts, PostgreSQL stores what the general path would store;
 * test/gateway/otlp-metrics-copy.test.ts checks that against PostgreSQL itself.
 */
export type OtlpMetricsTranscoder = (body: Buffer, nowMicros?: () => number) => EncodedRows | undefined;

/** otel_metrics as builtin-tables.ts defines it: the columns this path fills. */
const LAYOUT: Record<string, string> = {
  time: 'timestamptz',
  service: 'text',
  metric: 'text',
  kind: 'text',
  unit: 'text',
  value: 'float8',
  count: 'int8',
  buckets: 'jsonb',
  start_time: 'timestamptz',
  resource: 'jsonb',
  scope: 'jsonb',
  labels: 'jsonb',
};

type Slot = keyof typeof LAYOUT;

/** The transcoder for a table laid out as otel_metrics (extra columns nullable), else undefined. */
export function otlpMetricsTranscoder(model: TableModel): OtlpMetricsTranscoder | undefined {
  if (model.target !== 'postgresql') return undefined;
  const slots: Array<Slot | undefined> = [];
  const seen = new Set<string>();
  for (const c of model.columns) {
    const expected = LAYOUT[c.name];
    if (expected === undefined) {
      if (c.notNull) return undefined;
      slots.push(undefined);
      continue;
    }
    if (c.pg.kind !== expected) return undefined;
    seen.add(c.name);
    slots.push(c.name);
  }
  if (seen.size !== Object.keys(LAYOUT).length) return undefined;
  return (body, now = () => Date.now() * 1000) => {
    try {
      return transcode(body, slots, now);
    } catch (err) {
      if (err instanceof WireBail) return undefined;
      throw err;
    } finally {
      // The reused readers must not keep the request's body alive.
      for (const reader of [pointReader, keyValueReader, anyValueReader]) reader.buf = EMPTY;
    }
  };
}

interface Context {
  service: string;
  resource: string;
  scope: string;
  metric: string;
  unit: string;
  kind: string;
}

interface Out {
  slots: Array<Slot | undefined>;
  now: () => number;
  data: string;
  rows: number;
}

const NULL = '\\N';

function transcode(body: Buffer, slots: Array<Slot | undefined>, now: () => number): EncodedRows {
  const out: Out = { slots, now, data: '', rows: 0 };
  const r = new WireReader(body);
  while (!r.done) {
    r.next();
    const { field, wire } = r;
    if (field === 1) resourceMetrics(body, lenSpan(r, wire), out);
    else r.skip(wire);
  }
  return { data: Buffer.from(out.data, 'utf8'), rows: out.rows };
}

/**
 * protobufjs reads a known field by its declared type whatever the wire type says; a
 * mismatch is left to it. Unknown fields are skipped by their wire type, as it does.
 */
const HEADER_AND_CHILDREN_WIRES = new Map([[1, WIRE.len], [2, WIRE.len], [3, WIRE.len]]);
const METRIC_WIRES = new Map([[1, WIRE.len], [2, WIRE.len], [3, WIRE.len], [5, WIRE.len], [7, WIRE.len], [12, WIRE.len]]);
const SUM_WIRES = new Map([[1, WIRE.len], [2, WIRE.varint], [3, WIRE.varint]]);
const DATA_POINT_WIRES = new Map([[2, WIRE.i64], [3, WIRE.i64], [4, WIRE.i64], [5, WIRE.len], [6, WIRE.i64], [7, WIRE.len], [8, WIRE.varint]]);
const KEY_VALUE_WIRES = new Map([[1, WIRE.len], [2, WIRE.len]]);

function skipChecked(r: WireReader, field: number, wire: number, known: Map<number, number>): void {
  const expected = known.get(field);
  if (expected !== undefined && expected !== wire) bail();
  r.skip(wire);
}

function lenSpan(r: WireReader, wire: number): [number, number] {
  if (wire !== WIRE.len) bail();
  return r.span();
}

/** Decodes a small submessage with protobufjs into the general path's object shape. */
function decodeSmall(typeName: string, body: Buffer, [start, end]: [number, number]): Obj {
  const type = protoType(typeName);
  try {
    return type.toObject(type.decode(body.subarray(start, end)), { bytes: String, defaults: false, arrays: false }) as Obj;
  } catch {
    return bail();
  }
}

/**
 * ResourceMetrics and ScopeMetrics share one shape: field 1, a single header message
 * (the resource, the scope); field 2, the repeated children (scope metrics, metrics).
 */
function headerAndChildren(body: Buffer, [start, end]: [number, number]): { header?: [number, number]; children: Array<[number, number]> } {
  const r = new WireReader(body, start, end);
  let header: [number, number] | undefined;
  const children: Array<[number, number]> = [];
  while (!r.done) {
    r.next();
    const { field, wire } = r;
    if (field === 1 && wire === WIRE.len) {
      if (header) bail();
      header = r.span();
    } else if (field === 2 && wire === WIRE.len) children.push(r.span());
    else skipChecked(r, field, wire, HEADER_AND_CHILDREN_WIRES);
  }
  return { header, children };
}

function resourceMetrics(body: Buffer, span: [number, number], out: Out): void {
  const { header, children } = headerAndChildren(body, span);
  const res = resourceOf(header ? decodeSmall('opentelemetry.proto.resource.v1.Resource', body, header) : undefined);
  const ctx: Context = {
    service: res.service === null ? NULL : escapeCopyText(res.service),
    resource: escapeCopyText(JSON.stringify(res.resource)),
    scope: '',
    metric: NULL,
    unit: NULL,
    kind: '',
  };
  for (const s of children) scopeMetrics(body, s, ctx, out);
}

function scopeMetrics(body: Buffer, span: [number, number], ctx: Context, out: Out): void {
  const { header, children: metrics } = headerAndChildren(body, span);
  const scopeObj = scopeOf(header ? decodeSmall('opentelemetry.proto.common.v1.InstrumentationScope', body, header) : undefined);
  ctx.scope = escapeCopyText(JSON.stringify(scopeObj));
  for (const m of metrics) metric(body, m, ctx, out);
}

function metric(body: Buffer, [start, end]: [number, number], ctx: Context, out: Out): void {
  const r = new WireReader(body, start, end);
  let name: string | undefined;
  let unit: string | undefined;
  let data: [number, number] | undefined;
  let kind = '';
  while (!r.done) {
    r.next();
    const { field, wire } = r;
    if (field === 1 && wire === WIRE.len) {
      if (name !== undefined) bail();
      name = r.string();
    } else if (field === 3 && wire === WIRE.len) {
      if (unit !== undefined) bail();
      unit = r.string();
    } else if ((field === 5 || field === 7) && wire === WIRE.len) {
      if (data) bail();
      data = r.span();
      kind = field === 5 ? 'gauge' : 'sum';
    } else if (field === 9 || field === 10 || field === 11) bail();
    else skipChecked(r, field, wire, METRIC_WIRES);
  }
  if (!data) return;
  ctx.metric = name === undefined ? NULL : escapeCopyText(name);
  ctx.unit = unit ? escapeCopyText(unit) : NULL;
  ctx.kind = kind;
  // Gauge and Sum both hold their data points in field 1.
  const d = new WireReader(body, data[0], data[1]);
  while (!d.done) {
    d.next();
    const { field, wire } = d;
    if (field === 1) {
      if (wire !== WIRE.len) bail();
      d.enter(pointReader);
      dataPoint(pointReader, ctx, out);
    } else skipChecked(d, field, wire, SUM_WIRES);
  }
}

/** OTLP's "unset" (0) and out-of-range times are null (undefined here), as otlp-map's time() has them. */
function micros(low: number, high: number): number | undefined {
  if (low === 0 && high === 0) return undefined;
  const us = unsignedNanosToMicros(low, high);
  return inRange(us) ? us : undefined;
}

/** Readers reused for every data point, attribute and value: these run per row. */
const EMPTY = Buffer.alloc(0);
const pointReader = new WireReader(EMPTY);
const keyValueReader = new WireReader(EMPTY);
const anyValueReader = new WireReader(EMPTY);

function dataPoint(r: WireReader, ctx: Context, out: Out): void {
  let time: number | undefined;
  let startTime: number | undefined;
  let timeSeen = false;
  let startSeen = false;
  let value: string | undefined;
  let labels = '';
  labelsEscaped = false;
  while (!r.done) {
    r.next();
    const { field, wire } = r;
    switch (field) {
      case 2:
      case 3: {
        if (wire !== WIRE.i64) bail();
        r.fixed64();
        if (field === 2) {
          if (startSeen) bail();
          startSeen = true;
          startTime = micros(r.low, r.high);
        } else {
          if (timeSeen) bail();
          timeSeen = true;
          time = micros(r.low, r.high);
        }
        break;
      }
      case 4:
      case 6: {
        if (wire !== WIRE.i64 || value !== undefined) bail();
        if (field === 4) value = floatText(r.double(), 'postgresql');
        else {
          r.fixed64();
          const n = (r.high | 0) * 4294967296 + r.low;
          if (!Number.isSafeInteger(n)) bail();
          value = String(n);
        }
        break;
      }
      case 7:
        if (wire !== WIRE.len) bail();
        r.enter(keyValueReader);
        labels += (labels === '' ? '' : ',') + keyValue(keyValueReader);
        break;
      default:
        skipChecked(r, field, wire, DATA_POINT_WIRES);
    }
  }
  const t = time ?? out.now();
  const st = startTime;
  let line = '';
  for (let i = 0; i < out.slots.length; i++) {
    let v: string;
    switch (out.slots[i]) {
      case 'time':
        v = formatMicros(t) + '+00';
        break;
      case 'service':
        v = ctx.service;
        break;
      case 'metric':
        v = ctx.metric;
        break;
      case 'kind':
        v = ctx.kind;
        break;
      case 'unit':
        v = ctx.unit;
        break;
      case 'value':
        v = value ?? NULL;
        break;
      case 'start_time':
        v = st === undefined ? NULL : formatMicros(st) + '+00';
        break;
      case 'resource':
        v = ctx.resource;
        break;
      case 'scope':
        v = ctx.scope;
        break;
      case 'labels':
        // JSON text holds no raw tab or newline; only escapes' backslashes need COPY escaping.
        v = labelsEscaped ? escapeCopyText('{' + labels + '}') : '{' + labels + '}';
        break;
      default:
        // count and buckets (histograms only), and columns this path does not know.
        v = NULL;
    }
    line += i === 0 ? v : '\t' + v;
  }
  out.data += line + '\n';
  out.rows++;
}

/** One attribute as JSON object member text (`"key":value`), or '' when it has no key. */
function keyValue(r: WireReader): string {
  let key: string | undefined;
  let value = 'null';
  let valueSeen = false;
  while (!r.done) {
    r.next();
    const { field, wire } = r;
    if (field === 1 && wire === WIRE.len) {
      if (key !== undefined) bail();
      key = r.string();
    } else if (field === 2 && wire === WIRE.len) {
      if (valueSeen) bail();
      valueSeen = true;
      r.enter(anyValueReader);
      value = anyValueJson(anyValueReader);
    } else skipChecked(r, field, wire, KEY_VALUE_WIRES);
  }
  // No key: otlp-map skips the attribute. `__proto__` would set a prototype there, not a key.
  if (key === undefined) bail();
  if (key === '__proto__') bail();
  return jsonString(key) + ':' + value;
}

/** An AnyValue of a scalar kind as JSON text (as JSON.stringify(anyValue(v)) writes it). */
function anyValueJson(r: WireReader): string {
  let json = 'null';
  let seen = false;
  while (!r.done) {
    r.next();
    const { field, wire } = r;
    if (field >= 1 && field <= 7) {
      if (seen) bail();
      seen = true;
    }
    if (field === 1 && wire === WIRE.len) json = jsonString(r.string());
    else if (field === 2 && wire === WIRE.varint) json = r.varint32() !== 0 ? 'true' : 'false';
    else if (field === 3 && wire === WIRE.varint) json = String(r.int64());
    else if (field === 4 && wire === WIRE.i64) {
      const d = r.double();
      json = Number.isFinite(d) ? String(d) : 'null';
    } else if (field >= 1 && field <= 7) bail();
    else r.skip(wire);
  }
  return json;
}

/** What JSON.stringify escapes in a string: quote, backslash, control characters, and (lone) surrogates, sent to it to decide. */
function needsJsonEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

/** Set when a JSON string of the current row's labels holds an escape (a backslash COPY must double). */
let labelsEscaped = false;

/** JSON.stringify of a string, without its call when nothing needs escaping (keys like `host`). */
function jsonString(s: string): string {
  if (!needsJsonEscape(s)) return '"' + s + '"';
  labelsEscaped = true;
  return JSON.stringify(s);
}
