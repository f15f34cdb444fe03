import { tieredTableSpecSchema, type OpenApiSchema } from './schema';

/**
 * The TieredTable field reference (docs/tieredtable-reference.md), rendered from the
 * same schema the CRD and the validator use, so the docs cannot drift from either.
 */
export function renderSpecReference(): string {
  const rows: string[] = [];
  walk(tieredTableSpecSchema, 'spec', new Set(tieredTableSpecSchema.required ?? []), rows, true);
  const rules = collectRules(tieredTableSpecSchema, 'spec');
  return [
    '# TieredTable reference (strata.dev/v1alpha1)',
    '',
    '<!-- Generated from core/src/model/schema.ts by `make docs`; do not edit by hand. -->',
    '',
    'One TieredTable describes one table across both tiers. `strata apply -f` and the',
    'operator accept the same document; both reject an invalid one naming the field.',
    '',
    '| field | type | required | default | constraints | description |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '## Cross-field rules',
    '',
    'Checked by the API server (CEL) and by `strata apply` alike:',
    '',
    ...rules.map(([path, message]) => `- \`${path}\`: ${message}`),
    '',
  ].join('\n');
}

function typeOf(s: OpenApiSchema): string {
  if (s.type === 'array') return `${s.items ? typeOf(s.items) : 'any'}[]`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return `map of ${typeOf(s.additionalProperties)}`;
  return s.type ?? 'any';
}

function constraints(s: OpenApiSchema): string {
  const out: string[] = [];
  if (s.enum) out.push(`one of ${s.enum.map((e) => `\`${e}\``).join(', ')}`);
  if (s.pattern) out.push(`pattern \`${s.pattern.replace(/\|/g, '\\|')}\``);
  if (s.minLength !== undefined) out.push(`min length ${s.minLength}`);
  if (s.maxLength !== undefined) out.push(`max length ${s.maxLength}`);
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) out.push(`≤ ${s.maximum}`);
  if (s.minItems !== undefined) out.push(`≥ ${s.minItems} items`);
  if (s.maxItems !== undefined) out.push(`≤ ${s.maxItems} items`);
  if (s['x-kubernetes-list-type'] === 'map') out.push(`unique by ${(s['x-kubernetes-list-map-keys'] ?? []).join(', ')}`);
  return out.join('; ');
}

const cell = (text: string | undefined) => (text ?? '').replace(/\n/g, ' ').replace(/\|/g, '\\|');

function walk(s: OpenApiSchema, path: string, requiredHere: Set<string>, rows: string[], root = false): void {
  if (!root) {
    const name = path.split('.').pop()!.replace('[]', '');
    const def = s.default === undefined ? '' : `\`${JSON.stringify(s.default)}\``;
    rows.push(`| \`${path}\` | ${typeOf(s)} | ${requiredHere.has(name) ? 'yes' : ''} | ${def} | ${cell(constraints(s))} | ${cell(s.description)} |`);
  }
  if (s.type === 'object' && s.properties) {
    const req = new Set(s.required ?? []);
    for (const [key, child] of Object.entries(s.properties)) walk(child, `${path}.${key}`, req, rows);
  }
  if (s.type === 'array' && s.items?.type === 'object' && s.items.properties) {
    const req = new Set(s.items.required ?? []);
    for (const [key, child] of Object.entries(s.items.properties)) walk(child, `${path}[].${key}`, req, rows);
  }
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object' && s.additionalProperties.properties) {
    walk(s.additionalProperties, `${path}.*`, new Set(), rows);
  }
}

function collectRules(s: OpenApiSchema, path: string): Array<[string, string]> {
  const out: Array<[string, string]> = (s['x-kubernetes-validations'] ?? []).map((r) => [path, r.message]);
  for (const [key, child] of Object.entries(s.properties ?? {})) out.push(...collectRules(child, `${path}.${key}`));
  if (s.items) out.push(...collectRules(s.items, `${path}[]`));
  return out;
}
