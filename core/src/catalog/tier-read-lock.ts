/**
 * The tier read lock: how a reader that cannot hold one snapshot for the whole statement
 * still sees every row exactly once.
 *
 * A tiered read looks at three things: W and the committed generation (strata.tier_state),
 * the hot rows, and ClickHouse's rows of visible generations. In one snapshot (an
 * autocommit statement the proxy wraps in REPEATABLE READ, or a REPEATABLE READ /
 * SERIALIZABLE transaction) they agree, whatever a tiering run commits meanwhile. A READ
 * COMMITTED transaction takes a new snapshot per statement, so the proxy's statements
 * (read W, load cold rows, run the rewritten statement) could straddle a tiering commit
 * and miss or double the moved window. There the proxy takes this advisory lock in
 * shared mode for the rest of the transaction, and a tiering run takes it exclusively
 * (without queueing, so readers never wait behind it) just before it commits.
 */
export const TIER_READ_LOCK_CLASS = 0x5356; // 'SV': tier state visibility

/** SQL taking the shared lock for one table ($1 = table name), until the transaction ends. */
export const TIER_READ_LOCK_SHARED_SQL = `SELECT pg_advisory_xact_lock_shared(${TIER_READ_LOCK_CLASS}, hashtext(t)) FROM unnest($1::text[]) AS t ORDER BY t`;

/** SQL trying the exclusive lock for one table ($1 = table name) in the committing transaction. */
export const TIER_READ_LOCK_TRY_EXCLUSIVE_SQL = `SELECT pg_try_advisory_xact_lock(${TIER_READ_LOCK_CLASS}, hashtext($1)) AS ok`;
