import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { Message, tableToIPC, type Table } from 'apache-arrow';
import { repoPath } from './paths';

/**
 * An Arrow Flight DoPut client: apache-arrow writes the IPC stream, each IPC message
 * becomes one FlightData (data_header = the flatbuffer Message, data_body = its body), and
 * @grpc/grpc-js streams them to FlightService/DoPut. The descriptor names the table.
 */

const root = protobuf.loadSync(repoPath('gateway', 'proto', 'arrow', 'Flight.proto'));
const FlightData = root.lookupType('arrow.flight.protocol.FlightData');
const PutResult = root.lookupType('arrow.flight.protocol.PutResult');
const PATH = 1;

export function flightDataOf(table: Table, tableName: string): Buffer[] {
  const ipc = Buffer.from(tableToIPC(table, 'stream'));
  const out: Buffer[] = [];
  let off = 0;
  let first = true;
  while (off + 8 <= ipc.length) {
    if (ipc.readUInt32LE(off) !== 0xffffffff) throw new Error('expected an IPC continuation marker');
    const len = ipc.readInt32LE(off + 4);
    if (len === 0) break;
    const header = ipc.subarray(off + 8, off + 8 + len);
    const bodyLength = Number(Message.decode(header).bodyLength);
    const body = ipc.subarray(off + 8 + len, off + 8 + len + bodyLength);
    off += 8 + len + bodyLength;
    const msg: Record<string, unknown> = { dataHeader: header, dataBody: body };
    if (first) msg.flightDescriptor = { type: PATH, path: [tableName] };
    first = false;
    out.push(Buffer.from(FlightData.encode(FlightData.create(msg)).finish()));
  }
  return out;
}

export async function flightDoPut(address: string, token: string, tableName: string, table: Table): Promise<{ results: number }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  try {
    return await new Promise((resolve, reject) => {
      const call = client.makeBidiStreamRequest<Buffer, Buffer>(
        '/arrow.flight.protocol.FlightService/DoPut',
        (b: Buffer) => b,
        (b: Buffer) => b,
        metadata,
      );
      let results = 0;
      call.on('data', (b: Buffer) => {
        PutResult.decode(b);
        results++;
      });
      call.on('error', reject);
      call.on('end', () => resolve({ results }));
      for (const m of flightDataOf(table, tableName)) call.write(m);
      call.end();
    });
  } finally {
    client.close();
  }
}
