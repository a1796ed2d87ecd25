/**
 * The README's linkgate/upstream example is meant to be copied: run it as written (TypeScript
 * transpiled, `linkgate/upstream` resolved to this checkout), with only its file paths and port
 * pointed at this machine, and talk to it as the gateway would.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import * as ts from 'typescript';
import { DEMO_TLS_DIR, demoCa } from '../../examples/demo/upstream';
import { authorityTlv, encodeProxyHeader, linkIdTlv, tenantTlv } from '../../lib/gateway/proxy-protocol/encoder';
import * as linkgateUpstream from '../../lib/upstream';
import { waitFor } from '../helpers/sockets';

const requireFromHere = createRequire(__filename);

function upstreamSnippet(): string {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Node.js services: `linkgate/upstream`'), readme.indexOf('### nginx'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('README has no ts example under "Node.js services: `linkgate/upstream`"');
  return match[1]!;
}

function replaceOnce(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`the README example no longer contains ${from}`);
  return text.replace(from, to);
}

test('GIVEN the README example running THEN its own tenant’s host is served with the link ID, and a fronted Host gets 421', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'linkgate-readme-upstream-'));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, 'listeners: { privateLink: { port: 8443 }, health: { port: 8080 } }\nupstreams: { default: { host: app, port: 443, proxyProtocol: true } }\ntenants:\n  - { name: shop, hostnames: [shop.example.com], open: true }\n  - { name: megacorp, hostnames: ["*.megacorp.example.com"], open: true }\n');
  let snippet = upstreamSnippet();
  snippet = replaceOnce(snippet, "'tls/server.key'", JSON.stringify(join(DEMO_TLS_DIR, 'server.key')));
  snippet = replaceOnce(snippet, "'tls/server.crt'", JSON.stringify(join(DEMO_TLS_DIR, 'server.crt')));
  snippet = replaceOnce(snippet, "'/etc/linkgate/config.yaml'", JSON.stringify(config));
  snippet = replaceOnce(snippet, 'gate.listen(8443)', "gate.listen(0, '127.0.0.1')");
  const js = ts.transpileModule(`${snippet}\nexports.gate = gate;\n`, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  const exports: { gate?: linkgateUpstream.LinkgateUpstream } = {};
  const said: unknown[][] = [];
  const consoleShim = { log: (...a: unknown[]) => said.push(a), warn: (...a: unknown[]) => said.push(a) };
  const load = (name: string): unknown => (name === 'linkgate/upstream' ? linkgateUpstream : requireFromHere(name));
  new Function('require', 'exports', 'console', js)(load, exports, consoleShim);
  const gate = exports.gate!;
  try {
    const [, port] = (await waitFor(() => said.find((a) => a[0] === 'listening on'))) as [string, number];
    /** One HTTPS request on a connection the gateway decided for tenant "shop", link 553665985. */
    const request = (host: string) =>
      new Promise<string>((resolve) => {
        const raw = connect({ host: '127.0.0.1', port }, () => {
          raw.write(encodeProxyHeader({ tlvs: [linkIdTlv('azure', '553665985'), authorityTlv('shop.example.com'), tenantTlv(0xe1, 'shop')], crc32c: true }));
          const tls = tlsConnect({ socket: raw, servername: 'shop.example.com', ca: demoCa(), ALPNProtocols: ['http/1.1'] }, () =>
            tls.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
          );
          let text = '';
          tls.on('data', (d) => (text += d.toString()));
          tls.on('close', () => resolve(text));
          tls.on('error', (e) => resolve(`error ${e.message}`));
        });
        raw.on('error', () => undefined);
      });
    expect(await request('shop.example.com')).toMatch(/^HTTP\/1\.1 200 [\s\S]*\r\n\r\nhello shop \(endpoint 553665985\)\n$/);
    expect(await request('a.megacorp.example.com')).toMatch(/^HTTP\/1\.1 421 /);
    expect(said).toContainEqual(['421', 'a.megacorp.example.com', 'on a connection of', 'shop']);
  } finally {
    await gate.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
