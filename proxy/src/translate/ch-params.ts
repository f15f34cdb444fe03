import type { QueryParams } from '@strata/core';

/**
 * Values bound into ClickHouse SQL as `{name:Type}` query parameters: the statement
 * text never contains a user-supplied literal.
 */
export class ChParams {
  readonly values: QueryParams = {};
  private next = 0;

  constructor(private readonly prefix = 'p') {}

  add(value: string | number | boolean | null, type: string): string {
    const name = `${this.prefix}${this.next++}`;
    this.values[name] = value;
    return `{${name}:${type}}`;
  }
}
