import { Policy, type ConnectionFacts } from '../../lib/gateway/policy';
import { testConfig } from '../helpers/gateway';

const config = testConfig({
  upstreams: { default: { host: '127.0.0.1', port: 1 }, other: { host: '127.0.0.1', port: 2 } },
  tenants: [
    {
      name: 'megacorp',
      hostnames: ['megacorp.api.example.com', '*.megacorp.example.com'],
      allow: { aws: ['vpce-08d2bf15fac5001c9'], azure: ['553665985'], gcp: ['18446744072646845442'], cidrs: ['203.0.113.0/24', '2001:db8::/32'] },
    },
    { name: 'exact-wins', hostnames: ['api.megacorp.example.com'], upstream: 'other', open: true },
    { name: 'open', hostnames: ['open.example.com'], open: true },
    { name: 'private-only', hostnames: ['private.example.com'], allow: { aws: ['vpce-0000000000000000a'] } },
    { name: 'public-only', hostnames: ['public.example.com'], allow: { cidrs: ['198.51.100.0/24'] } },
  ],
});
const policy = new Policy(config);

const privateLink = (serverName: string | null, link: ConnectionFacts['link']): ConnectionFacts => ({
  listener: 'privateLink',
  serverName,
  link,
  sourceAddress: null,
});
const publicFrom = (serverName: string | null, sourceAddress: string): ConnectionFacts => ({
  listener: 'public',
  serverName,
  link: null,
  sourceAddress,
});
const verdict = (facts: ConnectionFacts) => {
  const d = policy.decide(facts);
  return d.verdict === 'forward' ? `forward:${d.tenant.name}` : `drop:${d.reason}:${d.tenant?.name ?? '-'}`;
};

describe('policy decisions', () => {
  test.each([
    ['the tenant’s own VPC endpoint', privateLink('megacorp.api.example.com', { cloud: 'aws', linkId: 'vpce-08d2bf15fac5001c9' }), 'forward:megacorp'],
    ['its Azure LinkID', privateLink('x.megacorp.example.com', { cloud: 'azure', linkId: '553665985' }), 'forward:megacorp'],
    ['its GCP PSC ID (uint64)', privateLink('x.megacorp.example.com', { cloud: 'gcp', linkId: '18446744072646845442' }), 'forward:megacorp'],
    ['a GCP ID one below it', privateLink('x.megacorp.example.com', { cloud: 'gcp', linkId: '18446744072646845441' }), 'drop:link_id_not_allowed:megacorp'],
    ['another customer’s endpoint', privateLink('megacorp.api.example.com', { cloud: 'aws', linkId: 'vpce-0000000000000000a' }), 'drop:link_id_not_allowed:megacorp'],
    ['the right number under another cloud’s TLV', privateLink('megacorp.api.example.com', { cloud: 'gcp', linkId: '553665985' }), 'drop:link_id_not_allowed:megacorp'],
    ['a PROXY header without link ID', privateLink('megacorp.api.example.com', null), 'drop:no_link_id:megacorp'],
    ['an open tenant from anywhere', privateLink('open.example.com', { cloud: 'aws', linkId: 'vpce-0000000000000000b' }), 'forward:open'],
    ['an open tenant without link ID', privateLink('open.example.com', null), 'forward:open'],
    ['no SNI', privateLink(null, { cloud: 'aws', linkId: 'vpce-08d2bf15fac5001c9' }), 'drop:no_sni:-'],
    ['an unknown hostname', privateLink('nobody.example.com', { cloud: 'aws', linkId: 'vpce-08d2bf15fac5001c9' }), 'drop:unknown_host:-'],
    ['a public-only tenant over private link', privateLink('public.example.com', { cloud: 'aws', linkId: 'vpce-08d2bf15fac5001c9' }), 'drop:link_id_not_allowed:public-only'],
  ])('private link: %s → %s', (_name, facts, expected) => {
    expect(verdict(facts)).toBe(expected);
  });

  test.each([
    ['a listed IPv4 range', publicFrom('megacorp.api.example.com', '203.0.113.9'), 'forward:megacorp'],
    ['a listed IPv6 range', publicFrom('megacorp.api.example.com', '2001:db8::7'), 'forward:megacorp'],
    ['an address outside the ranges', publicFrom('megacorp.api.example.com', '192.0.2.1'), 'drop:cidr_not_allowed:megacorp'],
    ['a private-only tenant from the internet', publicFrom('private.example.com', '203.0.113.9'), 'drop:cidr_not_allowed:private-only'],
    ['an open tenant', publicFrom('open.example.com', '192.0.2.1'), 'forward:open'],
  ])('public: %s → %s', (_name, facts, expected) => {
    expect(verdict(facts)).toBe(expected);
  });

  test('hostnames: exact beats wildcard, a wildcard covers exactly one label', () => {
    expect(policy.tenantFor('api.megacorp.example.com')?.name).toBe('exact-wins');
    expect(policy.tenantFor('other.megacorp.example.com')?.name).toBe('megacorp');
    expect(policy.tenantFor('a.b.megacorp.example.com')).toBeNull();
    expect(policy.tenantFor('megacorp.example.com')).toBeNull();
    expect(policy.tenantFor('api.megacorp.example.com')?.upstream.name).toBe('other');
  });

  test('GIVEN `open: true` THEN the tenant is open; GIVEN an emptied list THEN it admits nobody (offboarding cuts off)', () => {
    const p = new Policy(
      testConfig({
        upstreams: { default: { host: '127.0.0.1', port: 1 } },
        tenants: [
          { name: 'stated', hostnames: ['stated.example.com'], open: true },
          { name: 'emptied', hostnames: ['emptied.example.com'], allow: { aws: [] } },
        ],
      }),
    );
    const link = { cloud: 'aws' as const, linkId: 'vpce-0000000000000000a' };
    expect(p.decide(privateLink('stated.example.com', link)).verdict).toBe('forward');
    expect(p.decide(publicFrom('stated.example.com', '203.0.113.1')).verdict).toBe('forward');
    expect(p.decide(privateLink('emptied.example.com', link))).toMatchObject({ verdict: 'drop', reason: 'link_id_not_allowed' });
    expect(p.decide(publicFrom('emptied.example.com', '203.0.113.1'))).toMatchObject({ verdict: 'drop', reason: 'cidr_not_allowed' });
  });

  test('GIVEN a default tenant THEN no-SNI and unknown hostnames go to it, decided by its rules', () => {
    const withDefault = new Policy({ ...config, defaultTenant: 'private-only' });
    expect(withDefault.decide(privateLink(null, { cloud: 'aws', linkId: 'vpce-0000000000000000a' }))).toMatchObject({
      verdict: 'forward',
      tenant: { name: 'private-only' },
    });
    expect(withDefault.decide(privateLink('nobody.example.com', { cloud: 'aws', linkId: 'vpce-08d2bf15fac5001c9' }))).toMatchObject({
      verdict: 'drop',
      reason: 'link_id_not_allowed',
    });
  });
});
