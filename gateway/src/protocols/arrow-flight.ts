import { DataType, RecordBatchReader, TimeUnit, type Table, type Vector, tableFromIPC } from 'apache-arrow';
import { MalformedBodyError } from '../errors';
import { Micros, type TableModel } from '../model/table-model';
import { protoType } from './proto-root';

/**
 * Arrow Flight DoPut: the client streams FlightData (the first carries a descriptor whose
 * path names the table, then the schema message, then record batches). The gateway treats
 * one DoPut stream as one request: it collects the stream, rebuilds the Arrow IPC stream
 * (continuation marker, header length, header, body per message), decodes it with
 * apache-arrow, and writes all rows or none.
 */

export const FLIGHT_DO_PUT_PATH = '/arrow.flight.protocol.FlightService/DoPut';

export interface FlightDataMessage {
  flightDescriptor?: { type?: number; cmd?: Uint8Array; path?: string[] };
  dataHeader?: Uint8Array;
  dataBody?: Uint8Array;
  appMetadata?: Uint8Array;
}

export function decodeFlightData(b: Buffer): FlightDataMessage {
  const type = protoType('arrow.flight.protocol.FlightData');
  try {
    return type.decode(b) as unknown as FlightDataMessage;
  } catch (err) {
    throw new MalformedBodyError(`malformed FlightData: ${(err as Error).message}`, { cause: err });
  }
}

export function encodePutResult(): Buffer {
  const type = protoType('arrow.flight.protocol.PutResult');
  return Buffer.from(type.encode(type.create({})).finish());
}

/** FlightData messages → the Arrow IPC stream bytes they carry. */
export function ipcStreamOf(messages: readonly FlightDataMessage[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of messages) {
    const header = m.dataHeader;
    if (!header || header.length === 0) continue;
    const pad = (8 - (header.length % 8)) % 8;
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32LE(0xffffffff, 0);
    prefix.writeInt32LE(header.length + pad, 4);
    parts.push(prefix, Buffer.from(header.buffer, header.byteOffset, header.byteLength), Buffer.alloc(pad));
    if (m.dataBody && m.dataBody.length > 0) parts.push(Buffer.from(m.dataBody.buffer, m.dataBody.byteOffset, m.dataBody.byteLength));
  }
  parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
  return Buffer.concat(parts);
}

export function tableOfFlightData(messages: readonly FlightDataMessage[]): Table {
  const bytes = ipcStreamOf(messages);
  try {
    const reader = RecordBatchReader.from(bytes);
    if (!reader.isStream()) throw new Error('not an IPC stream');
    return tableFromIPC(bytes);
  } catch (err) {
    throw new MalformedBodyError('the FlightData stream is not a valid Arrow IPC stream (schema message, then record batches)', { cause: err });
  }
}

type Row = Record<string, unknown>;

/** Arrow columns → row objects keyed by field name, values as the writers expect them. */
export function arrowRows(table: Table, model: TableModel): Row[] {
  const n = table.numRows;
  const rows: Row[] = new Array(n);
  for (let i = 0; i < n; i++) rows[i] = {};
  const jsonbColumns = new Set(model.columns.filter((c) => c.pg.kind === 'jsonb').map((c) => c.name));
  for (const field of table.schema.fields) {
    const vector = table.getChild(field.name)!;
    const name = field.name;
    if (DataType.isTimestamp(field.type)) {
      fillTimestamps(vector, field.type.unit, name, rows);
      continue;
    }
    for (let i = 0; i < n; i++) {
      if (!vector.isValid(i)) continue;
      rows[i][name] = plain(vector.get(i), jsonbColumns.has(name), name, i);
    }
  }
  return rows;
}

/** Timestamps read from the raw int64 values: `get()` rounds through float milliseconds. */
function fillTimestamps(vector: Vector, unit: TimeUnit, name: string, rows: Row[]): void {
  const toMicros = (v: bigint) =>
    unit === TimeUnit.SECOND ? Number(v) * 1e6 : unit === TimeUnit.MILLISECOND ? Number(v) * 1e3 : unit === TimeUnit.MICROSECOND ? Number(v) : Number(v / 1000n);
  let row = 0;
  for (const data of vector.data) {
    const values = data.values as unknown as BigInt64Array | Int32Array;
    for (let i = 0; i < data.length; i++, row++) {
      if (!data.getValid(i)) continue;
      const raw = values instanceof BigInt64Array ? values[data.offset + i] : BigInt(values[2 * (data.offset + i)]) + (BigInt(values[2 * (data.offset + i) + 1]) << 32n);
      rows[row][name] = new Micros(toMicros(raw));
    }
  }
}

function plain(v: unknown, jsonb: boolean, name: string, i: number): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (jsonb && typeof v === 'string') {
    try {
      return JSON.parse(v);
    } catch {
      throw new MalformedBodyError(`row ${i + 1}: column ${name}: not JSON text`);
    }
  }
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') return (v as { toJSON(): unknown }).toJSON();
  return v;
}
