import type { ErrorFields } from '../wire/error-response';

/**
 * Errors about reaching PostgreSQL. Each carries the SQLSTATE a client sees; PostgreSQL's
 * own startup errors (e.g. 3D000 database does not exist) keep PostgreSQL's fields.
 */
export class BackendError extends Error {
  constructor(
    readonly code: 'backend_unavailable' | 'backend_startup_failed' | 'backend_lost' | 'pool_timeout' | 'pool_closed',
    readonly sqlState: string,
    message: string,
    readonly fields?: ErrorFields,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BackendError';
  }
}
