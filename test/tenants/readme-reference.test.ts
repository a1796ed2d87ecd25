/** The README's config reference stays true: every field of the schema is documented there. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewayConfigJsonSchema } from '../../lib/tenants';

type Node = { properties?: Record<string, Node>; items?: Node; additionalProperties?: Node | boolean; anyOf?: Node[] };

function fields(node: Node, path: string, out: string[]): string[] {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const p = path ? `${path}.${key}` : key;
    // A field is what a user sets: a scalar or a list of scalars (objects are containers).
    const isLeaf = !child.properties && !child.items?.properties && typeof child.additionalProperties !== 'object';
    if (isLeaf) out.push(p);
    fields(child, p, out);
  }
  if (node.items) fields(node.items, `${path}[]`, out);
  if (typeof node.additionalProperties === 'object') fields(node.additionalProperties, `${path}.<name>`, out);
  for (const alt of node.anyOf ?? []) fields(alt, path, out);
  return out;
}

test('GIVEN the JSON Schema THEN every field appears in the README config reference', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('<!-- config-reference:start -->'), readme.indexOf('<!-- config-reference:end -->'));
  const all = [...new Set(fields(gatewayConfigJsonSchema() as Node, '', []))];
  expect(all.length).toBeGreaterThan(25);
  expect(all.filter((f) => !section.includes(`\`${f}\``))).toEqual([]);
});
