import { KubeApiError } from '@strata/core';

/** The operator's coded errors. `transient` decides between requeue-with-backoff and waiting for a spec change. */
export const OPERATOR_ERROR_CODES = {
  kubeApi: 'KUBE_API',
  invalidSpec: 'INVALID_SPEC',
  connection: 'CONNECTION_CONFIG',
  hotUnavailable: 'HOT_UNAVAILABLE',
  coldUnavailable: 'COLD_UNAVAILABLE',
  changeRefused: 'CHANGE_REFUSED',
  config: 'OPERATOR_CONFIG',
} as const;
export type OperatorErrorCode = (typeof OPERATOR_ERROR_CODES)[keyof typeof OPERATOR_ERROR_CODES];

export class OperatorError extends Error {
  constructor(
    readonly code: OperatorErrorCode,
    message: string,
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OperatorError';
  }
}

// The Kubernetes client and its error live in core, shared with the gateway.
export { KubeApiError };

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.status === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.status === 409;
export const isAlreadyExists = (err: unknown): boolean => err instanceof KubeApiError && err.status === 409 && err.reason === 'AlreadyExists';
