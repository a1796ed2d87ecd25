/**
 * The JSON Schema of the gateway config, generated from the same zod schema the gateway and the
 * constructs validate with. Point an editor at schema/linkgate-config.schema.json (or at
 * `linkgate/schema.json`); a test keeps the committed file equal to this output.
 */
import { z } from 'zod';
import { gatewayConfigSchema } from './schema';

export function gatewayConfigJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(gatewayConfigSchema, { io: 'input', unrepresentable: 'any' });
  return {
    ...schema,
    $id: 'https://linkgate.dev/schema/linkgate-config.schema.json',
    title: 'linkgate gateway configuration',
  };
}

export function gatewayConfigJsonSchemaText(): string {
  return `${JSON.stringify(gatewayConfigJsonSchema(), null, 2)}\n`;
}
