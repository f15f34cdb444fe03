import { isDeepStrictEqual } from 'node:util';
import type { TieredTableStatus } from '@strata/core';
import { isConflict } from './errors';
import type { KubeClient } from '@strata/core';
import { tieredTablePath, type TieredTableObject } from './kube/resources';

export const STATUS_PATCH_ATTEMPTS = 5;

/**
 * The one place status is written. `build` derives the new status from the object as
 * the API server has it now; the write carries that object's resourceVersion
 * (optimistic locking), and a conflict re-reads and rebuilds. An unchanged status is
 * not written, so reconciling a settled object causes no watch event and no loop.
 * Returns true when a write happened.
 */
export async function patchStatus(
  kube: KubeClient,
  obj: TieredTableObject,
  build: (current: TieredTableObject) => TieredTableStatus,
): Promise<boolean> {
  const path = tieredTablePath(obj.metadata.namespace ?? 'default', obj.metadata.name);
  let current = obj;
  for (let attempt = 1; ; attempt++) {
    const next = build(current);
    if (isDeepStrictEqual(stripUndefined(current.status ?? {}), stripUndefined(next))) return false;
    try {
      await kube.replace(`${path}/status`, { ...current, status: next });
      return true;
    } catch (err) {
      if (!isConflict(err) || attempt >= STATUS_PATCH_ATTEMPTS) throw err;
      current = await kube.get<TieredTableObject>(path);
    }
  }
}

function stripUndefined<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
