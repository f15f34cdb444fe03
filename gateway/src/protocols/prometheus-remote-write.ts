import SnappyJS from 'snappyjs';
import { MalformedBodyError, PayloadTooLargeError } from '../errors';
import { Micros } from '../model/table-model';
import { protoType } from './proto-root';

/**
 * Prometheus remote write 1.0: a snappy block-compressed WriteRequest. Every sample is a
 * row of prom_metrics: `__name__` → metric, the other labels → labels, the sample's
 * millisecond timestamp → time.
 */

type Row = Record<string, unknown>;

export function decodeRemoteWrite(body: Buffer, limit: number): Row[] {
  const declared = snappyDeclaredLength(body);
  if (declared === undefined) throw new MalformedBodyError('remote write body is not snappy block data');
  if (declared > limit) throw new PayloadTooLargeError(limit, 'decompressed body');
  let raw: Uint8Array;
  try {
    raw = SnappyJS.uncompress(body) as Uint8Array;
  } catch (err) {
    throw new MalformedBodyError('remote write body is not valid snappy data', { cause: err });
  }
  const type = protoType('prometheus.WriteRequest');
  let req: { timeseries?: Array<{ labels?: Array<{ name: string; value: string }>; samples?: Array<{ value?: number; timestamp?: unknown }> }> };
  try {
    req = type.toObject(type.decode(raw), { longs: String, defaults: false }) as typeof req;
  } catch (err) {
    throw new MalformedBodyError(`malformed remote write protobuf: ${(err as Error).message}`, { cause: err });
  }
  const rows: Row[] = [];
  let seriesNo = 0;
  for (const ts of req.timeseries ?? []) {
    seriesNo++;
    let metric: string | null = null;
    const labels: Record<string, string> = {};
    for (const l of ts.labels ?? []) {
      if (l.name === '__name__') metric = l.value ?? '';
      else labels[l.name] = l.value ?? '';
    }
    if (!metric) throw new MalformedBodyError(`time series ${seriesNo} has no __name__ label`);
    for (const s of ts.samples ?? []) {
      const ms = Number(s.timestamp ?? 0);
      rows.push({ time: new Micros(ms * 1000), metric, value: s.value ?? 0, labels });
    }
  }
  return rows;
}

/** A snappy block starts with the uncompressed length as a varint. */
function snappyDeclaredLength(b: Buffer): number | undefined {
  let result = 0;
  for (let i = 0, shift = 0; i < 5 && i < b.length; i++, shift += 7) {
    result += (b[i] & 0x7f) * 2 ** shift;
    if ((b[i] & 0x80) === 0) return result;
  }
  return undefined;
}
