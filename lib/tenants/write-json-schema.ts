/** `npm run schema`: regenerates the committed JSON Schema file. */
import { writeFileSync } from 'node:fs';
import { gatewayConfigJsonSchemaText } from './json-schema';

const target = process.argv[2];
if (!target) {
  process.stderr.write('usage: write-json-schema OUTPUT.json\n');
  process.exit(2);
}
writeFileSync(target, gatewayConfigJsonSchemaText());
process.stdout.write(`wrote ${target}\n`);
