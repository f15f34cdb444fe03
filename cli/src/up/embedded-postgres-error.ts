/**
 * Why the embedded PostgreSQL of `strata up` could not start, each with a message that
 * says what to do; `strata up` prints the message and exits 1.
 */
export const EMBEDDED_POSTGRES_ERROR_CODES = {
  /** Running as root with no `postgres` account for the server to run as. */
  noServerAccount: 'EMBEDDED_PG_NO_SERVER_ACCOUNT',
  /** A directory under the state root is not root's alone (someone else could swap binaries or data). */
  unsafeStateDir: 'EMBEDDED_PG_UNSAFE_STATE_DIR',
  /** The data directory cannot be created or holds a cluster of another account. */
  dataDir: 'EMBEDDED_PG_DATA_DIR',
  /** initdb or postgres could not be started, failed, or did not become ready. */
  server: 'EMBEDDED_PG_SERVER',
} as const;

export type EmbeddedPostgresErrorCode = (typeof EMBEDDED_POSTGRES_ERROR_CODES)[keyof typeof EMBEDDED_POSTGRES_ERROR_CODES];

export class EmbeddedPostgresError extends Error {
  constructor(
    readonly code: EmbeddedPostgresErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EmbeddedPostgresError';
  }
}
