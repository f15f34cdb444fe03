import { Micros } from '../model/table-model';
import { isLongLike, isZeroLong, longToBigInt, longToSafeNumber } from '../model/int64';
import { nanosToMicros } from '../model/timestamp';

/**
 * OTLP requests (as plain objects: protobufjs `toObject` of the binary form, or the
 * OTLP/JSON body, which has the same lowerCamelCase shape) → rows of otel_metrics,
 * otel_logs and otel_traces. The mapping is documented in gateway/README.md. Resource and
 * scope are kept whole (attributes as objects, plus the scope's name/version); a data
 * point's, record's or span's attributes go to `labels`; `service` is the resource's
 * service.name, the one attribute every backend indexes.
 */

export type Obj = Record<string, unknown>;
type Row = Record<string, unknown>;
/** How bytes fields (trace and span ids) arrive: base64 (protobuf → toObject) or hex (OTLP/JSON). */
export type IdEncoding = 'base64' | 'hex';

const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);

export function anyValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return null;
  const o = v as Obj;
  if ('stringValue' in o) return o.stringValue;
  if ('boolValue' in o) return o.boolValue;
  if ('intValue' in o) return intOf(o.intValue);
  if ('doubleValue' in o) return Number(o.doubleValue);
  if ('arrayValue' in o) return arr((o.arrayValue as Obj | undefined)?.values).map(anyValue);
  if ('kvlistValue' in o) return attributes((o.kvlistValue as Obj | undefined)?.values);
  if ('bytesValue' in o) return o.bytesValue;
  return null;
}

/** 64-bit integers stay exact: a number when it is safe, else its decimal text. */
function intOf(v: unknown): number | string {
  if (isLongLike(v)) return longToSafeNumber(v) ?? longToBigInt(v).toString();
  const s = String(v);
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : s;
}

export function attributes(kvs: unknown): Obj {
  const out: Obj = {};
  for (const kv of arr(kvs)) if (typeof kv.key === 'string') out[kv.key] = anyValue(kv.value);
  return out;
}

export function resourceOf(r: unknown): { resource: Obj; service: string | null } {
  const resource = attributes((r as Obj | undefined)?.attributes);
  const service = typeof resource['service.name'] === 'string' ? (resource['service.name'] as string) : null;
  return { resource, service };
}

export function scopeOf(s: unknown): Obj {
  const scope = (s ?? {}) as Obj;
  const out: Obj = {};
  if (scope.name) out.name = scope.name;
  if (scope.version) out.version = scope.version;
  const attrs = attributes(scope.attributes);
  if (Object.keys(attrs).length > 0) out.attributes = attrs;
  return out;
}

function idText(v: unknown, enc: IdEncoding): string | null {
  if (typeof v !== 'string' || v === '') return null;
  return enc === 'hex' ? v.toLowerCase() : Buffer.from(v, 'base64').toString('hex');
}

/** A timestamp in unix nanos; 0 or absent means "not set" in OTLP. */
function time(v: unknown): Micros | null {
  if (v === undefined || v === null || v === '0' || v === 0 || (isLongLike(v) && isZeroLong(v))) return null;
  const micros = nanosToMicros(v);
  return micros === undefined ? null : new Micros(micros);
}

function countOf(v: unknown): number | string | null {
  return v === undefined || v === null ? null : intOf(v);
}

export function metricsRows(req: Obj, now: () => Micros = nowMicros): Row[] {
  const rows: Row[] = [];
  for (const rm of arr(req.resourceMetrics)) {
    const { resource, service } = resourceOf(rm.resource);
    for (const sm of arr(rm.scopeMetrics)) {
      const scope = scopeOf(sm.scope);
      for (const m of arr(sm.metrics)) {
        const metric = m.name ?? null;
        const unit = m.unit || null;
        const push = (kind: string, dp: Obj, value: unknown, count: unknown, buckets: unknown) =>
          rows.push({
            service,
            metric,
            unit,
            resource,
            scope,
            kind,
            time: time(dp.timeUnixNano) ?? now(),
            start_time: time(dp.startTimeUnixNano),
            value,
            count: countOf(count),
            buckets,
            labels: attributes(dp.attributes),
          });
        if (m.gauge || m.sum) {
          const kind = m.gauge ? 'gauge' : 'sum';
          for (const dp of arr(((m.gauge ?? m.sum) as Obj).dataPoints)) {
            const value = dp.asDouble !== undefined ? Number(dp.asDouble) : dp.asInt !== undefined ? Number(intOf(dp.asInt)) : null;
            push(kind, dp, value, null, null);
          }
        } else if (m.histogram) {
          for (const dp of arr((m.histogram as Obj).dataPoints)) {
            push('histogram', dp, dp.sum ?? null, dp.count ?? 0, {
              bounds: arr(dp.explicitBounds).map(Number),
              counts: arr(dp.bucketCounts).map(intOf),
              ...(dp.min !== undefined ? { min: Number(dp.min) } : {}),
              ...(dp.max !== undefined ? { max: Number(dp.max) } : {}),
            });
          }
        } else if (m.exponentialHistogram) {
          for (const dp of arr((m.exponentialHistogram as Obj).dataPoints)) {
            const side = (b: unknown) => ({ offset: Number((b as Obj | undefined)?.offset ?? 0), counts: arr((b as Obj | undefined)?.bucketCounts).map(intOf) });
            push('exponential_histogram', dp, dp.sum ?? null, dp.count ?? 0, {
              scale: Number(dp.scale ?? 0),
              zeroCount: intOf(dp.zeroCount ?? 0),
              positive: side(dp.positive),
              negative: side(dp.negative),
              ...(dp.min !== undefined ? { min: Number(dp.min) } : {}),
              ...(dp.max !== undefined ? { max: Number(dp.max) } : {}),
            });
          }
        } else if (m.summary) {
          for (const dp of arr((m.summary as Obj).dataPoints)) {
            push('summary', dp, dp.sum ?? null, dp.count ?? 0, {
              quantiles: arr(dp.quantileValues).map((q) => ({ quantile: Number(q.quantile ?? 0), value: Number(q.value ?? 0) })),
            });
          }
        }
      }
    }
  }
  return rows;
}

export function logsRows(req: Obj, ids: IdEncoding, now: () => Micros = nowMicros): Row[] {
  const rows: Row[] = [];
  for (const rl of arr(req.resourceLogs)) {
    const { resource, service } = resourceOf(rl.resource);
    for (const sl of arr(rl.scopeLogs)) {
      const scope = scopeOf(sl.scope);
      for (const lr of arr(sl.logRecords)) {
        const observed = time(lr.observedTimeUnixNano);
        const body = anyValue(lr.body);
        rows.push({
          timestamp: time(lr.timeUnixNano) ?? observed ?? now(),
          observed_timestamp: observed,
          service,
          severity_number: lr.severityNumber ?? null,
          severity_text: lr.severityText || null,
          body: body === null ? null : typeof body === 'string' ? body : JSON.stringify(body),
          trace_id: idText(lr.traceId, ids),
          span_id: idText(lr.spanId, ids),
          event_name: lr.eventName || null,
          resource,
          scope,
          labels: attributes(lr.attributes),
        });
      }
    }
  }
  return rows;
}

export function tracesRows(req: Obj, ids: IdEncoding): Row[] {
  const rows: Row[] = [];
  for (const rs of arr(req.resourceSpans)) {
    const { resource, service } = resourceOf(rs.resource);
    for (const ss of arr(rs.scopeSpans)) {
      const scope = scopeOf(ss.scope);
      for (const s of arr(ss.spans)) {
        const start = time(s.startTimeUnixNano);
        const end = time(s.endTimeUnixNano);
        const status = (s.status ?? {}) as Obj;
        rows.push({
          time: start,
          end_time: end,
          duration_ms: start && end ? (end.value - start.value) / 1000 : null,
          service,
          trace_id: idText(s.traceId, ids),
          span_id: idText(s.spanId, ids),
          parent_span_id: idText(s.parentSpanId, ids),
          name: s.name ?? null,
          kind: s.kind ?? 0,
          status_code: status.code ?? 0,
          status_message: status.message || null,
          events: arr(s.events).map((e) => ({ time: e.timeUnixNano ? String(intOf(e.timeUnixNano)) : null, name: e.name ?? null, attributes: attributes(e.attributes) })),
          links: arr(s.links).map((l) => ({ trace_id: idText(l.traceId, ids), span_id: idText(l.spanId, ids), attributes: attributes(l.attributes) })),
          resource,
          scope,
          labels: attributes(s.attributes),
        });
      }
    }
  }
  return rows;
}

function nowMicros(): Micros {
  return new Micros(Date.now() * 1000);
}
