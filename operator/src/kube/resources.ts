import { CRD_PLURAL, TIERED_TABLE_GROUP, TIERED_TABLE_VERSION, type TieredTableInput, type TieredTableStatus } from '@strata/core';

/** The shapes and REST paths of the objects the operator reads and writes. */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  creationTimestamp?: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Kubernetes-only part of the spec: where the connection settings live. Not part of core's table model. */
export interface ConnectionRef {
  secretRef?: { name: string };
}

export interface TieredTableObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: TieredTableInput & { connection?: ConnectionRef };
  status?: TieredTableStatus;
}

export interface ListResult<T> {
  metadata: { resourceVersion: string };
  items: T[];
}

export const tieredTablesPath = (namespace?: string): string =>
  `/apis/${TIERED_TABLE_GROUP}/${TIERED_TABLE_VERSION}${namespace ? `/namespaces/${namespace}` : ''}/${CRD_PLURAL}`;
export const tieredTablePath = (namespace: string, name: string): string => `${tieredTablesPath(namespace)}/${encodeURIComponent(name)}`;
export const secretPath = (namespace: string, name: string): string => `/api/v1/namespaces/${namespace}/secrets/${encodeURIComponent(name)}`;
export const eventsPath = (namespace: string): string => `/api/v1/namespaces/${namespace}/events`;
export const cronJobsPath = (namespace: string): string => `/apis/batch/v1/namespaces/${namespace}/cronjobs`;
export const cronJobPath = (namespace: string, name: string): string => `${cronJobsPath(namespace)}/${encodeURIComponent(name)}`;
export const leasesPath = (namespace: string): string => `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
export const leasePath = (namespace: string, name: string): string => `${leasesPath(namespace)}/${encodeURIComponent(name)}`;

export const objectKey = (meta: Pick<ObjectMeta, 'namespace' | 'name'>): string => `${meta.namespace ?? ''}/${meta.name}`;
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
