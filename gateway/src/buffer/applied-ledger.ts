import type { ClientBase, Pool } from 'pg';

/**
 * `strata.ingest_applied`: the ids of buffered batches committed to PostgreSQL. A batch's
 * rows and its id commit in one transaction, so a redelivered batch (a writer killed
 * after the commit and before the ack) finds its id and is not written again. Two writers
 * holding the same message serialise on the id's primary key: the second waits for the
 * first's transaction and then skips.
 *
 * A row may go once JetStream can no longer redeliver its message: when the consumer's
 * ack floor passed its stream sequence (and the message is gone from the work-queue
 * stream). The sweep deletes those, after a grace period.
 */
const CREATE = `
CREATE SCHEMA IF NOT EXISTS strata;
CREATE TABLE IF NOT EXISTS strata.ingest_applied (
  msg_id     text PRIMARY KEY,
  stream     text NOT NULL,
  stream_seq bigint NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ingest_applied_stream_seq ON strata.ingest_applied (stream, stream_seq);
`;

/** Any stable number: the writers' lock around creating the ledger. */
const LEDGER_LOCK = 0x5354_4c47;

export async function ensureAppliedLedger(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [LEDGER_LOCK]);
    await client.query(CREATE);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Records the ids inside the caller's transaction; returns those not recorded before
 * (the batches to write now). Ids are taken in sorted order so two writers with
 * overlapping batches lock them in the same order and cannot deadlock.
 */
export async function claimIds(client: ClientBase, stream: string, entries: readonly { id: string; seq: number }[]): Promise<Set<string>> {
  const sorted = [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const r = await client.query<{ msg_id: string }>(
    `INSERT INTO strata.ingest_applied (msg_id, stream, stream_seq)
     SELECT id, $1, seq FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS t(id, seq, ord) ORDER BY ord
     ON CONFLICT (msg_id) DO NOTHING RETURNING msg_id`,
    [stream, sorted.map((e) => e.id), sorted.map((e) => e.seq)],
  );
  return new Set(r.rows.map((row) => row.msg_id));
}

/** Deletes ids JetStream can no longer redeliver: at or below the ack floor, older than the grace period. */
export async function sweepAppliedLedger(pool: Pool, stream: string, ackFloorSeq: number, graceSeconds: number): Promise<number> {
  const r = await pool.query(
    `DELETE FROM strata.ingest_applied WHERE stream = $1 AND stream_seq <= $2 AND applied_at < now() - make_interval(secs => $3)`,
    [stream, ackFloorSeq, graceSeconds],
  );
  return r.rowCount ?? 0;
}
