import type { TableModel } from './table-model';

/**
 * Memoises something derived from a table's model (a hot-path encoder). A model is
 * replaced, never changed, when its table evolves, so the cache needs no invalidation.
 */
export function perModel<T>(make: (model: TableModel) => T | undefined): (model: TableModel) => T | undefined {
  const cache = new WeakMap<TableModel, T | null>();
  return (model) => {
    let v = cache.get(model);
    if (v === undefined) {
      v = make(model) ?? null;
      cache.set(model, v);
    }
    return v ?? undefined;
  };
}
