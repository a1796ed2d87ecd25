/**
 * Owner rules on Azure: the scale set's identity gets a custom role with exactly the read (and,
 * with acceptance, the connection write) on the one Private Link Service, and the gateway config
 * reads that service.
 */
import { gatewayScaleSet, onlyResource, resources, synth, UPSTREAMS } from './fixtures';

const PLS = '/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/provider-rg/providers/Microsoft.Network/privateLinkServices/lg-pls';
const SUB = '11111111-2222-3333-4444-555555555555';
const tenants = [{ name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { azureSubscriptions: [SUB] } }];

describe('owner rules on Azure', () => {
  test('GIVEN allow.azureSubscriptions and the Private Link Service WHEN synthesized THEN a read-only custom role is assigned on that service to the scale set', () => {
    const { doc, value } = synth((scope) => gatewayScaleSet(scope, { props: { name: 'lg-gw', tenants, upstreams: UPSTREAMS, ownershipSource: { privateLinkServiceId: PLS } } }));
    expect(onlyResource(doc, 'azurerm_role_definition')).toMatchObject({
      name: 'lg-gw-ownership-reader',
      scope: '/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/provider-rg',
      assignable_scopes: [PLS],
      permissions: [{ actions: ['Microsoft.Network/privateLinkServices/read'] }],
    });
    const assignments = resources(doc, 'azurerm_role_assignment').filter((a) => a.scope === PLS);
    expect(assignments).toEqual([expect.objectContaining({ principal_type: 'ServicePrincipal', principal_id: expect.stringContaining('identity') })]);
    expect(value.config.config.ownership).toMatchObject({ azure: { privateLinkService: PLS }, accept: 'none', intervalSec: 15 });
  });

  test('GIVEN accept: matching THEN the role may also write the service\'s endpoint connections, nothing more', () => {
    const { doc } = synth((scope) =>
      gatewayScaleSet(scope, { props: { name: 'lg-gw', tenants, upstreams: UPSTREAMS, ownership: { accept: 'matching' }, ownershipSource: { privateLinkServiceId: PLS } } }),
    );
    expect(onlyResource(doc, 'azurerm_role_definition').permissions).toEqual([
      { actions: ['Microsoft.Network/privateLinkServices/read', 'Microsoft.Network/privateLinkServices/privateEndpointConnections/write'] },
    ]);
  });

  test('GIVEN owner rules without ownershipSource THEN synth fails saying what to pass', () => {
    expect(() => synth((scope) => gatewayScaleSet(scope, { props: { name: 'lg-gw', tenants, upstreams: UPSTREAMS } }))).toThrow(
      /ownershipSource.*tenants use allow.azureSubscriptions .*pass ownershipSource: \{ privateLinkServiceId \}/s,
    );
  });
});
