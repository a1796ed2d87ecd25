import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewayConfigJsonSchemaText } from '../../lib/tenants';

describe('JSON Schema for editors', () => {
  test('GIVEN the committed schema file THEN it equals what the zod schema generates (run npm run schema)', () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'schema', 'linkgate-config.schema.json'), 'utf8');
    expect(committed).toBe(gatewayConfigJsonSchemaText());
  });

  test('GIVEN the schema THEN it carries the ID patterns editors check', () => {
    const text = gatewayConfigJsonSchemaText();
    expect(text).toContain('^vpce-(?:[0-9a-f]{8}|[0-9a-f]{17})$');
    expect(JSON.parse(text).required).toEqual(['listeners', 'upstreams', 'tenants']);
  });
});
