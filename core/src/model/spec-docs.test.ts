import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSpecReference } from './spec-docs';

test('docs/tieredtable-reference.md is what the schema renders (run `make docs` after changing the schema)', () => {
  const committed = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'tieredtable-reference.md'), 'utf8');
  expect(committed).toBe(renderSpecReference());
});

test('every spec field of the schema appears, with its description', () => {
  const doc = renderSpecReference();
  for (const field of ['spec.table', 'spec.timeColumn', 'spec.columns[].type', 'spec.hot.chunkInterval', 'spec.cold.orderBy', 'spec.rollups[].aggregates', 'spec.tiering.every', 'spec.mode', 'spec.deletionPolicy']) {
    expect(doc).toContain(`| \`${field}\` |`);
  }
});
