import { CRD_PLURAL, TIERED_TABLE_API_VERSION, TIERED_TABLE_GROUP, TIERED_TABLE_KIND, TIERED_TABLE_VERSION, KubeApiError, KubeClient, type TieredTableResource, type TieredTableSpec } from '@strata/core';
import { KubernetesError } from '../errors';
import type { KubeAccess } from './kube-access';

/**
 * Keeps a TieredTable resource for every table the gateway registers or evolves, so the
 * operator (which reconciles TieredTables) owns it like one applied with kubectl.
 * Injected: main.ts builds one only when Kubernetes is configured.
 */
export interface TieredTableApplier {
  /** Asks the API server whether the apply would succeed (RBAC, CRD schema, CEL rules), storing nothing. */
  check(spec: TieredTableSpec): Promise<TieredTableRef>;
  /** Creates or updates the TieredTable. */
  apply(spec: TieredTableSpec): Promise<TieredTableRef>;
}

export interface TieredTableRef {
  namespace: string;
  name: string;
}

export const FIELD_MANAGER = 'strata-gateway';

/**
 * The resource name of a table's TieredTable: the table name with `_` spelled `-` (object
 * names are DNS subdomains), without leading or trailing `-`.
 */
export function tieredTableName(table: string): string {
  return table.replace(/_/g, '-').replace(/^-+|-+$/g, '') || 'table';
}

export function tieredTableResource(spec: TieredTableSpec, namespace: string): TieredTableResource {
  return {
    apiVersion: TIERED_TABLE_API_VERSION,
    kind: TIERED_TABLE_KIND,
    metadata: { name: tieredTableName(spec.table), namespace, labels: { 'app.kubernetes.io/managed-by': FIELD_MANAGER } },
    spec,
  };
}

/**
 * Server-side apply (one PATCH creates or updates; RBAC: get, create, patch). The gateway
 * sends the whole spec it registered and forces ownership of those fields: the table
 * registry is the truth once the tables changed, and a conflict could only leave the
 * resource behind the tables. Fields other managers set that the gateway does not send
 * (spec.connection) are kept. Strict field validation: a CRD older than the spec (no
 * `ingest`) is an error, not a field silently pruned.
 */
export class KubeTieredTableApplier implements TieredTableApplier {
  private readonly client: KubeClient;

  constructor(private readonly access: KubeAccess) {
    // Registration waits on this answer: 10 s, not the operator's 30.
    this.client = new KubeClient(access, 10_000);
  }

  check(spec: TieredTableSpec): Promise<TieredTableRef> {
    return this.send(spec, true);
  }

  apply(spec: TieredTableSpec): Promise<TieredTableRef> {
    return this.send(spec, false);
  }

  private async send(spec: TieredTableSpec, dryRun: boolean): Promise<TieredTableRef> {
    const resource = tieredTableResource(spec, this.access.namespace);
    const ref = { namespace: this.access.namespace, name: resource.metadata.name };
    const query = new URLSearchParams({ fieldManager: FIELD_MANAGER, force: 'true', fieldValidation: 'Strict' });
    if (dryRun) query.set('dryRun', 'All');
    const path = `/apis/${TIERED_TABLE_GROUP}/${TIERED_TABLE_VERSION}/namespaces/${encodeURIComponent(ref.namespace)}/${CRD_PLURAL}/${encodeURIComponent(ref.name)}?${query}`;
    try {
      await this.client.patch(path, resource, 'apply');
    } catch (err) {
      const what = `TieredTable ${ref.namespace}/${ref.name}`;
      if (!(err instanceof KubeApiError)) throw new KubernetesError(true, what, (err as Error).message, { cause: err });
      // A refusal (RBAC, no CRD, validation) will not go away by retrying; a 5xx may.
      const refused = err.status < 500 && err.status !== 429;
      const detail = `${err.status}${err.reason ? ` ${err.reason}` : ''}: ${err.statusMessage}`;
      throw new KubernetesError(!refused, what, detail, { cause: err });
    }
    return ref;
  }
}
