import type { TieredTableResource } from '@strata/core';

/**
 * Creates or updates the TieredTable resource for a table registered over HTTP, so the
 * operator (which reconciles TieredTables) owns it like one applied with kubectl.
 * Injected: main.ts builds one only when a Kubernetes client is configured.
 */
export interface TieredTableApplier {
  apply(resource: TieredTableResource): Promise<void>;
}
