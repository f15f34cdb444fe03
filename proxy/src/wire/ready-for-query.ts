import { BufferWriter } from './buffer-writer';
import { Backend } from './message-codes';

/** ReadyForQuery with the transaction status: 'I' idle, 'T' in a block, 'E' in a failed block. */
export type TransactionStatus = 'I' | 'T' | 'E';

const frames = {
  I: new BufferWriter(8).byte(0x49).frame(Backend.readyForQuery),
  T: new BufferWriter(8).byte(0x54).frame(Backend.readyForQuery),
  E: new BufferWriter(8).byte(0x45).frame(Backend.readyForQuery),
} as const;

export function readyForQuery(status: TransactionStatus): Buffer {
  return frames[status];
}

export function decodeReadyForQuery(frame: Buffer): TransactionStatus {
  const status = String.fromCharCode(frame[5]);
  return status === 'T' || status === 'E' ? status : 'I';
}
