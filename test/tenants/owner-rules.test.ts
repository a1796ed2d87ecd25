/** Owner rules in the tenant model: their forms, one tenant per owner, and the source they need. */
import { validateGatewayConfig, validateTenantDeclarations } from '../../lib/tenants/validate';
import { isClosedTenant, isOpenTenant } from '../../lib/tenants/rules';

const base = {
  listeners: { privateLink: { port: 8443 }, health: { port: 8080 } },
  upstreams: { default: { host: 'app.internal', port: 443 } },
};
const AWS = { aws: { serviceId: 'vpce-svc-0123456789abcdef0', region: 'eu-west-1' } };
const SUB = '11111111-2222-3333-4444-555555555555';

function issues(input: unknown): string[] {
  const r = validateGatewayConfig(input);
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
}

test('GIVEN owner rules of every cloud WHEN validated THEN they are normalized (subscription lowercase, network URL shortened)', () => {
  const r = validateGatewayConfig({
    ...base,
    ownership: {
      ...AWS,
      azure: { privateLinkService: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/pls` },
      gcp: { serviceAttachment: 'https://www.googleapis.com/compute/v1/projects/provider-prod/regions/europe-west1/serviceAttachments/linkgate' },
    },
    tenants: [
      {
        name: 'megacorp',
        hostnames: ['megacorp.example.com'],
        allow: {
          awsAccounts: ['011122223333'],
          azureSubscriptions: [SUB.toUpperCase()],
          gcpProjects: ['megacorp-prod', 123456789012],
          gcpNetworks: ['https://www.googleapis.com/compute/v1/projects/megacorp-prod/global/networks/default'],
        },
      },
    ],
  });
  expect(r.ok).toBe(true);
  if (!r.ok) return;
  expect(r.value.tenants[0]!.allow).toEqual({
    awsAccounts: ['011122223333'],
    azureSubscriptions: [SUB],
    gcpProjects: ['megacorp-prod', '123456789012'],
    gcpNetworks: ['projects/megacorp-prod/global/networks/default'],
  });
  expect(r.value.ownership).toMatchObject({ intervalSec: 15, staleAfterSec: 300, accept: 'none', gcp: { serviceAttachment: 'projects/provider-prod/regions/europe-west1/serviceAttachments/linkgate' } });
  // Owner rules are rules: not open, not closed.
  expect(isOpenTenant(r.value.tenants[0]!)).toBe(false);
  expect(isClosedTenant(r.value.tenants[0]!)).toBe(false);
});

test('GIVEN one AWS account claimed by two tenants WHEN validated THEN the error names both', () => {
  expect(
    issues({
      ...base,
      ownership: AWS,
      tenants: [
        { name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { awsAccounts: ['111122223333'] } },
        { name: 'minicorp', hostnames: ['minicorp.example.com'], allow: { awsAccounts: ['111122223333'] } },
      ],
    }),
  ).toEqual([
    'tenants[1].allow.awsAccounts[0]: AWS account "111122223333" is claimed by tenants "megacorp" (tenants[0].allow.awsAccounts[0]) and "minicorp"; it must belong to one',
  ]);
});

test('GIVEN one GCP network claimed by two construct declarations WHEN validated THEN the error names both', () => {
  const r = validateTenantDeclarations([
    { name: 'a', hostnames: ['a.example.com'], allow: { gcpNetworks: ['projects/p-prod/global/networks/n'] } },
    { name: 'b', hostnames: ['b.example.com'], allow: { gcpNetworks: ['https://compute.googleapis.com/compute/v1/projects/p-prod/global/networks/n'] } },
  ]);
  expect(r.ok ? [] : r.issues.map((i) => i.message)).toEqual([
    'GCP network "projects/p-prod/global/networks/n" is claimed by tenants "a" (tenants[0].allow.gcpNetworks[0]) and "b"; it must belong to one',
  ]);
});

test('GIVEN malformed owners WHEN validated THEN each is refused with the reason', () => {
  expect(
    issues({
      ...base,
      ownership: AWS,
      tenants: [{ name: 'm', hostnames: ['m.example.com'], allow: { awsAccounts: [111122223333, '1111'], azureSubscriptions: ['sub'], gcpNetworks: ['default'] } }],
    }),
  ).toEqual([
    'tenants[0].allow.awsAccounts[0]: AWS account IDs must be quoted 12-digit strings ("111122223333"): a number drops leading zeros',
    'tenants[0].allow.awsAccounts[1]: expected an AWS account ID (12 digits, quoted), got "1111"',
    'tenants[0].allow.azureSubscriptions[0]: expected an Azure subscription ID GUID like 00000000-0000-0000-0000-000000000000, got "sub"',
    'tenants[0].allow.gcpNetworks[0]: expected a VPC network like projects/megacorp-prod/global/networks/default (or its https://www.googleapis.com/compute/v1/ URL), got "default"',
  ]);
});

test('GIVEN owner rules without the ownership source they read WHEN validated THEN that is an error (they would admit nobody)', () => {
  expect(
    issues({ ...base, tenants: [{ name: 'm', hostnames: ['m.example.com'], allow: { azureSubscriptions: [SUB] } }] }),
  ).toEqual([
    'tenants[0].allow.azureSubscriptions: owner rules need ownership.azure (the service whose connections name the owners); without it they would admit nobody',
  ]);
});

test('GIVEN a stale bound shorter than two intervals, or an ownership naming no source WHEN validated THEN both are refused', () => {
  expect(issues({ ...base, tenants: [], ownership: { ...AWS, intervalSec: 30, staleAfterSec: 45 } })).toEqual([
    'ownership.staleAfterSec: must be at least twice intervalSec (30), got 45: one late poll would otherwise stop every owner-based admission',
  ]);
  expect(issues({ ...base, tenants: [], ownership: {} })).toEqual([
    'ownership: names no source to read: add ownership.aws, ownership.azure or ownership.gcp, or remove ownership',
  ]);
});
