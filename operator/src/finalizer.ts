import type { KubeClient } from '@strata/core';
import { tieredTablePath, type TieredTableObject } from './kube/resources';

/** Holds a TieredTable until the operator has applied its deletionPolicy. */
export const FINALIZER = 'strata.dev/tables';

export const hasFinalizer = (obj: TieredTableObject): boolean => (obj.metadata.finalizers ?? []).includes(FINALIZER);

/**
 * Adds or removes the finalizer with a merge patch that carries the resourceVersion
 * read, so a concurrent change of the list (another controller's finalizer) conflicts
 * instead of being overwritten; the caller requeues on conflict.
 */
export async function setFinalizer(kube: KubeClient, obj: TieredTableObject, present: boolean): Promise<TieredTableObject> {
  const others = (obj.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
  const finalizers = present ? [...others, FINALIZER] : others;
  return kube.patch<TieredTableObject>(tieredTablePath(obj.metadata.namespace ?? 'default', obj.metadata.name), {
    metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion },
  });
}
