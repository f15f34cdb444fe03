/**
 * One catalogue of the gateway's errors (fastify lib/errors.js style). The HTTP status
 * and the gRPC status are chosen by error class here, never by matching message text.
 * Messages name the problem (field, row, line, limit) but never echo a row's values or a
 * credential: they go back to the client and, for 5xx, into the log.
 */

export const GATEWAY_ERROR_CODES = {
  badRequest: 'BAD_REQUEST',
  malformedBody: 'MALFORMED_BODY',
  wrongType: 'WRONG_TYPE',
  unknownTable: 'UNKNOWN_TABLE',
  unauthorized: 'UNAUTHORIZED',
  forbidden: 'FORBIDDEN',
  sqlApiDisabled: 'SQL_API_DISABLED',
  sqlRefused: 'SQL_REFUSED',
  sqlError: 'SQL_ERROR',
  payloadTooLarge: 'PAYLOAD_TOO_LARGE',
  unsupportedEncoding: 'UNSUPPORTED_ENCODING',
  unsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  backpressure: 'WRITERS_BUSY',
  decompressionBusy: 'DECOMPRESSION_BUSY',
  storeUnavailable: 'STORE_UNAVAILABLE',
  storeRejected: 'STORE_REJECTED',
  config: 'CONFIG',
  kubernetesRejected: 'KUBERNETES_REJECTED',
  kubernetesUnavailable: 'KUBERNETES_UNAVAILABLE',
} as const;
export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[keyof typeof GATEWAY_ERROR_CODES];

/** gRPC status codes (grpc/status.h), kept here so protocol modules share one mapping. */
export const GRPC_STATUS = {
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  UNAUTHENTICATED: 16,
  UNAVAILABLE: 14,
  INTERNAL: 13,
  NOT_FOUND: 5,
} as const;

export class GatewayError extends Error {
  constructor(
    readonly code: GatewayErrorCode,
    readonly statusCode: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GatewayError';
  }

  get grpcStatus(): number {
    if (this.statusCode === 401) return GRPC_STATUS.UNAUTHENTICATED;
    if (this.statusCode === 404) return GRPC_STATUS.NOT_FOUND;
    if (this.statusCode === 429) return GRPC_STATUS.RESOURCE_EXHAUSTED;
    if (this.statusCode === 503) return GRPC_STATUS.UNAVAILABLE;
    if (this.statusCode >= 500) return GRPC_STATUS.INTERNAL;
    return GRPC_STATUS.INVALID_ARGUMENT;
  }
}

/** The request's bytes are not what its protocol says (JSON, protobuf, line protocol, Arrow IPC). */
export class MalformedBodyError extends GatewayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(GATEWAY_ERROR_CODES.malformedBody, 400, message, options);
  }
}

/** A value does not fit its column. */
export class WrongTypeError extends GatewayError {
  constructor(message: string) {
    super(GATEWAY_ERROR_CODES.wrongType, 400, message);
  }
}

export class BadRequestError extends GatewayError {
  constructor(message: string) {
    super(GATEWAY_ERROR_CODES.badRequest, 400, message);
  }
}

export class UnknownTableError extends GatewayError {
  constructor(table: string) {
    super(GATEWAY_ERROR_CODES.unknownTable, 404, `table "${table}" is not registered (POST /schema/register first)`);
  }
}

export class UnauthorizedError extends GatewayError {
  constructor(message = 'missing or invalid bearer token') {
    super(GATEWAY_ERROR_CODES.unauthorized, 401, message);
  }
}

/** A valid token of the other scope: an ingest token on /v1/sql, a SQL token on an ingest endpoint. */
export class ForbiddenError extends GatewayError {
  constructor(message: string) {
    super(GATEWAY_ERROR_CODES.forbidden, 403, message);
  }
}

/** /v1/sql without SQL API settings (GatewayConfig.sqlApi): off, whoever asks. */
export class SqlApiDisabledError extends GatewayError {
  constructor() {
    super(GATEWAY_ERROR_CODES.sqlApiDisabled, 404, '/v1/sql is off on this gateway (it needs STRATA_GATEWAY_SQL_TOKENS and STRATA_GATEWAY_SQL_PG_URL)');
  }
}

/** A /v1/sql text that is not one reading statement: refused before it reaches PostgreSQL. */
export class SqlRefusedError extends GatewayError {
  constructor(reason: string) {
    super(GATEWAY_ERROR_CODES.sqlRefused, 400, reason);
  }
}

/**
 * A /v1/sql statement PostgreSQL (or the tier engine) refused, with its SQLSTATE and
 * message (which name objects, not row values). 403 for privilege (42501) and read-only
 * (25006) refusals, 400 for the rest.
 */
export class SqlStatementError extends GatewayError {
  constructor(
    readonly sqlState: string,
    message: string,
  ) {
    super(GATEWAY_ERROR_CODES.sqlError, sqlState === '42501' || sqlState === '25006' ? 403 : 400, message);
  }
}

export class PayloadTooLargeError extends GatewayError {
  constructor(limit: number, what = 'request body') {
    super(GATEWAY_ERROR_CODES.payloadTooLarge, 413, `${what} is larger than the limit of ${limit} bytes`);
  }
}

export class UnsupportedEncodingError extends GatewayError {
  constructor(encoding: string) {
    super(GATEWAY_ERROR_CODES.unsupportedEncoding, 415, `Content-Encoding "${encoding}" is not supported (identity, gzip, deflate, zstd)`);
  }
}

export class UnsupportedMediaTypeError extends GatewayError {
  constructor(type: string, expected: string) {
    super(GATEWAY_ERROR_CODES.unsupportedMediaType, 415, `Content-Type "${type}" is not accepted here (${expected})`);
  }
}

/** The writers hold more unflushed rows than allowed: the client should retry later. */
export class BackpressureError extends GatewayError {
  constructor(readonly retryAfterSeconds: number) {
    super(GATEWAY_ERROR_CODES.backpressure, 429, 'the writers are behind; retry later');
  }
}

/** Every decompression slot stayed taken while the body waited: the client should retry later (503). */
export class DecompressionBusyError extends GatewayError {
  constructor(slots: number) {
    super(GATEWAY_ERROR_CODES.decompressionBusy, 503, `all ${slots} decompression slots are busy; retry later`);
  }
}

/** A store could not be reached or failed mid-write: nothing of the request was committed. */
export class StoreUnavailableError extends GatewayError {
  constructor(
    readonly store: 'postgresql' | 'clickhouse',
    options?: { cause?: unknown },
  ) {
    super(GATEWAY_ERROR_CODES.storeUnavailable, 503, `${store} is unavailable; nothing from this request was written`, options);
  }
}

/** The store refused the request's rows (a constraint, a value out of range): nothing was written. */
export class StoreRejectedError extends GatewayError {
  constructor(store: 'postgresql' | 'clickhouse', reason: string, options?: { cause?: unknown }) {
    super(GATEWAY_ERROR_CODES.storeRejected, 400, `${store} rejected the rows: ${reason}; nothing from this request was written`, options);
  }
}

/**
 * The Kubernetes API server did not take a table's TieredTable. A refusal (RBAC, CRD
 * missing or older than the spec, validation) is the gateway's setup to fix: 502. No
 * answer or a 5xx may pass: 503, retry.
 */
export class KubernetesError extends GatewayError {
  constructor(
    readonly retryable: boolean,
    readonly what: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      retryable ? GATEWAY_ERROR_CODES.kubernetesUnavailable : GATEWAY_ERROR_CODES.kubernetesRejected,
      retryable ? 503 : 502,
      `the Kubernetes API server ${retryable ? 'could not take' : 'refused'} ${what}: ${reason}`,
      options,
    );
    this.name = 'KubernetesError';
  }

  /** The same failure, reported after the tables already changed. */
  afterTablesChanged(table: string): KubernetesError {
    return new KubernetesError(
      this.retryable,
      this.what,
      `${this.reason} (table ${table} was changed in both tiers all the same; registering it again applies the TieredTable)`,
      { cause: this.cause },
    );
  }
}

export class GatewayConfigError extends GatewayError {
  constructor(message: string) {
    super(GATEWAY_ERROR_CODES.config, 500, message);
  }
}
