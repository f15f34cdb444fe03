import type { WriteTarget } from '../model/table-model';

/**
 * One buffered batch: rows already encoded for their store (PostgreSQL COPY text or
 * ClickHouse TabSeparated, one row per line), and what a writer needs to apply them
 * without the table catalog — the store, the table and the column list they were
 * encoded for. Columns are only ever added, so a list that was right when the gateway
 * encoded the rows stays right when a writer applies them later.
 *
 * The id is the message's Nats-Msg-Id (JetStream drops a repeated publish within its
 * duplicate window), PostgreSQL's ledger key and ClickHouse's insert_deduplication_token:
 * the one name of the batch from the gateway to the store.
 */
export interface IngestMessage {
  id: string;
  store: WriteTarget;
  schema: string;
  table: string;
  columns: string[];
  rows: number;
  data: Buffer;
}

export const INGEST_HEADERS = {
  format: 'Strata-Format',
  store: 'Strata-Store',
  schema: 'Strata-Schema',
  table: 'Strata-Table',
  columns: 'Strata-Columns',
  rows: 'Strata-Rows',
  /** On dead letters: why the store refused the batch, and the stream sequence it had. */
  reason: 'Strata-Dead-Reason',
  sourceSeq: 'Strata-Source-Seq',
} as const;

export const INGEST_FORMAT = 'rows-v1';

/** Identifiers the writers accept from a message (the model's own rule for names, and schema names). */
const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

export function ingestSubject(prefix: string, m: Pick<IngestMessage, 'store' | 'schema' | 'table'>): string {
  return `${prefix}.${m.store}.${m.schema}.${m.table}`;
}

export function messageHeaders(m: Omit<IngestMessage, 'id' | 'data'>): [string, string][] {
  return [
    [INGEST_HEADERS.format, INGEST_FORMAT],
    [INGEST_HEADERS.store, m.store],
    [INGEST_HEADERS.schema, m.schema],
    [INGEST_HEADERS.table, m.table],
    [INGEST_HEADERS.columns, m.columns.join(',')],
    [INGEST_HEADERS.rows, String(m.rows)],
  ];
}

export class MalformedIngestMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedIngestMessageError';
  }
}

/** Reads a message back; anything a writer cannot apply as it stands is malformed (a dead letter). */
export function parseIngestMessage(id: string | undefined, header: (name: string) => string | undefined, data: Uint8Array): IngestMessage {
  if (!id) throw new MalformedIngestMessageError('no Nats-Msg-Id');
  if (header(INGEST_HEADERS.format) !== INGEST_FORMAT) throw new MalformedIngestMessageError(`unknown ${INGEST_HEADERS.format}`);
  const store = header(INGEST_HEADERS.store);
  if (store !== 'postgresql' && store !== 'clickhouse') throw new MalformedIngestMessageError(`unknown ${INGEST_HEADERS.store}`);
  const schema = header(INGEST_HEADERS.schema) ?? '';
  const table = header(INGEST_HEADERS.table) ?? '';
  const columns = (header(INGEST_HEADERS.columns) ?? '').split(',');
  for (const name of [schema, table, ...columns]) {
    if (!IDENT.test(name)) throw new MalformedIngestMessageError('a schema, table or column name is not an identifier');
  }
  const rows = Number(header(INGEST_HEADERS.rows));
  if (!Number.isSafeInteger(rows) || rows < 0) throw new MalformedIngestMessageError(`bad ${INGEST_HEADERS.rows}`);
  return { id, store, schema, table, columns, rows, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
}

export interface EncodedPart {
  data: Buffer;
  rows: number;
}

/**
 * Packs encoded requests into message bodies of at most `limit` bytes: whole requests
 * together while they fit, a request larger than one message cut at line ends (every row
 * is one line: COPY text and TabSeparated escape newlines inside values). A single row
 * larger than the limit cannot be buffered.
 */
export function packParts(requests: readonly EncodedPart[], limit: number): EncodedPart[] {
  const out: EncodedPart[] = [];
  let chunks: Buffer[] = [];
  let bytes = 0;
  let rows = 0;
  const flush = () => {
    if (chunks.length === 0) return;
    out.push({ data: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, bytes), rows });
    chunks = [];
    bytes = 0;
    rows = 0;
  };
  for (const r of requests) {
    if (r.data.length === 0) continue;
    if (bytes + r.data.length <= limit) {
      chunks.push(r.data);
      bytes += r.data.length;
      rows += r.rows;
      continue;
    }
    flush();
    if (r.data.length <= limit) {
      chunks.push(r.data);
      bytes = r.data.length;
      rows = r.rows;
      continue;
    }
    for (const piece of splitLines(r.data, limit)) out.push(piece);
  }
  flush();
  return out;
}

export class RowTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`a row is larger than the buffer's message limit of ${limit} bytes`);
    this.name = 'RowTooLargeError';
  }
}

function splitLines(data: Buffer, limit: number): EncodedPart[] {
  const out: EncodedPart[] = [];
  let start = 0;
  while (start < data.length) {
    let end = Math.min(start + limit, data.length);
    if (end < data.length) {
      // Cut after the last line feed within the limit.
      const nl = data.lastIndexOf(0x0a, end - 1);
      if (nl < start) throw new RowTooLargeError(limit);
      end = nl + 1;
    }
    const piece = data.subarray(start, end);
    out.push({ data: piece, rows: countLines(piece) });
    start = end;
  }
  return out;
}

function countLines(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(0x0a); i !== -1; i = b.indexOf(0x0a, i + 1)) n++;
  return n;
}
