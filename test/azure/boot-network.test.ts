/**
 * Booting without the public internet: an image that ships Docker, the registry through a private
 * endpoint, no NAT gateway unless asked; and the synth errors when those settings cannot work.
 */
import { LinuxVirtualMachineScaleSet } from '@cdktf/provider-azurerm/lib/linux-virtual-machine-scale-set';
import { NatGateway } from '@cdktf/provider-azurerm/lib/nat-gateway';
import { PrivateDnsZone } from '@cdktf/provider-azurerm/lib/private-dns-zone';
import { PrivateDnsZoneVirtualNetworkLink } from '@cdktf/provider-azurerm/lib/private-dns-zone-virtual-network-link';
import { PrivateEndpoint } from '@cdktf/provider-azurerm/lib/private-endpoint';
import { SubnetNatGatewayAssociation } from '@cdktf/provider-azurerm/lib/subnet-nat-gateway-association';
import type { GatewayScaleSetProps } from '../../lib/azure';
import {
  ACR_ID,
  GATEWAY_SUBNET,
  SOURCE_IMAGE_ID,
  SUBSCRIPTION,
  decodeCustomData,
  gatewayScaleSet,
  onlyResource,
  resources,
  synth,
  warningsOf,
} from './fixtures';

const build = (props: Partial<GatewayScaleSetProps> = {}) => synth((scope) => gatewayScaleSet(scope, { props: { name: 'lg-gw', ...props } }));
const VNET_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/network/providers/Microsoft.Network/virtualNetworks/provider`;

describe('GIVEN the defaults (outboundAccess none) with a gallery image that ships Docker', () => {
  const { json, doc, value } = build();
  const vmss = onlyResource(doc, 'azurerm_linux_virtual_machine_scale_set');
  const { config } = decodeCustomData(vmss.custom_data as string);

  it('THEN cloud-init downloads nothing: no package update, no packages', () => {
    expect(config.package_update).toBeUndefined();
    expect(config.packages).toBeUndefined();
    expect(value.boot).toEqual({ outboundAccess: 'none', registryPrivateEndpoint: true, installDocker: false });
  });

  it('THEN the VMs boot from the gallery image definition, so automatic OS upgrades roll out its new versions', () => {
    expect(json).toHaveResourceWithProperties(LinuxVirtualMachineScaleSet, {
      source_image_id: SOURCE_IMAGE_ID,
      automatic_os_upgrade_policy: { enable_automatic_os_upgrade: true, disable_automatic_rollback: false },
    });
  });

  it('THEN no NAT gateway or public IP exists', () => {
    expect(resources(doc, 'azurerm_nat_gateway')).toHaveLength(0);
    expect(resources(doc, 'azurerm_public_ip')).toHaveLength(0);
  });

  it('THEN the registry is reached through a private endpoint (subresource registry) in the gateway subnet, registered in privatelink.azurecr.io', () => {
    const zone = Object.entries(doc.resource.azurerm_private_dns_zone!).find(([, z]) => z.name === 'privatelink.azurecr.io')![0];
    expect(json).toHaveResourceWithProperties(PrivateDnsZone, { name: 'privatelink.azurecr.io' });
    expect(json).toHaveResourceWithProperties(PrivateEndpoint, {
      name: 'lg-gw-acr',
      subnet_id: GATEWAY_SUBNET.id,
      private_service_connection: { name: 'lg-gw-acr', private_connection_resource_id: ACR_ID, subresource_names: ['registry'], is_manual_connection: false },
      private_dns_zone_group: { name: 'default', private_dns_zone_ids: [`\${azurerm_private_dns_zone.${zone}.id}`] },
    });
  });

  it('THEN the zone is linked to the gateway subnet\'s VNet, taken from the subnet ID', () => {
    expect(json).toHaveResourceWithProperties(PrivateDnsZoneVirtualNetworkLink, { virtual_network_id: VNET_ID, registration_enabled: false });
  });

  it('THEN the VMs are created only after the registry endpoint exists (the first boot pulls through it)', () => {
    expect(vmss.depends_on).toContainEqual(expect.stringMatching(/^azurerm_private_endpoint\.Gateway_Network_RegistryEndpoint_/));
  });

  it('THEN the plan stops with a clear message unless the registry is Premium (the tier with private endpoints)', () => {
    const registry = onlyResource({ resource: (doc as unknown as { data: typeof doc.resource }).data }, 'azurerm_container_registry');
    expect(registry).toMatchObject({
      name: 'linkgatetest',
      resource_group_name: 'images',
      lifecycle: {
        postcondition: [{ condition: '${self.sku == "Premium"}', error_message: expect.stringMatching(/registry linkgatetest must be Premium to have a private endpoint/) }],
      },
    });
  });

  it('THEN it warns about nothing', () => {
    expect(warningsOf(value)).toEqual([]);
  });
});

describe('GIVEN private DNS zones of your own and a subnet for private endpoints', () => {
  const zoneId = `/subscriptions/${SUBSCRIPTION}/resourceGroups/hub-dns/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io`;
  const endpoints = { id: GATEWAY_SUBNET.id.replace(/gateways$/, 'endpoints') };
  const { json, doc } = build({ privateDnsZoneIds: { registry: zoneId }, privateEndpointSubnet: endpoints });

  it('THEN the endpoint registers in your zone, in your subnet, and no registry zone or link is created', () => {
    expect(json).toHaveResourceWithProperties(PrivateEndpoint, { name: 'lg-gw-acr', subnet_id: endpoints.id, private_dns_zone_group: { name: 'default', private_dns_zone_ids: [zoneId] } });
    expect(resources(doc, 'azurerm_private_dns_zone').map((z) => z.name)).not.toContain('privatelink.azurecr.io');
    expect(resources(doc, 'azurerm_private_dns_zone_virtual_network_link').map((l) => l.name)).not.toContain('lg-gw-azurecr-io');
  });
});

describe('GIVEN outboundAccess natGateway and the Ubuntu platform image', () => {
  const { json, doc, value } = build({ outboundAccess: 'natGateway', sourceImageId: undefined });
  const vmss = onlyResource(doc, 'azurerm_linux_virtual_machine_scale_set');

  it('THEN a NAT gateway with a static public IP serves the gateway subnet', () => {
    const nat = Object.keys(doc.resource.azurerm_nat_gateway!)[0]!;
    expect(json).toHaveResourceWithProperties(NatGateway, { name: 'lg-gw-egress', sku_name: 'Standard' });
    expect(json).toHaveResourceWithProperties(SubnetNatGatewayAssociation, { subnet_id: GATEWAY_SUBNET.id, nat_gateway_id: `\${azurerm_nat_gateway.${nat}.id}` });
    expect(onlyResource(doc, 'azurerm_public_ip')).toMatchObject({ name: 'lg-gw-egress-ip', sku: 'Standard', allocation_method: 'Static' });
    expect(vmss.depends_on).toContainEqual(expect.stringMatching(/^azurerm_subnet_nat_gateway_association\./));
  });

  it('THEN Docker comes from the Ubuntu archive at boot, the registry is reached publicly, and a warning says so', () => {
    expect(decodeCustomData(vmss.custom_data as string).config.packages).toEqual(['docker.io']);
    expect(vmss.source_image_reference).toMatchObject({ publisher: 'Canonical' });
    expect(resources(doc, 'azurerm_private_endpoint')).toHaveLength(0);
    expect(warningsOf(value)).toContainEqual(expect.stringMatching(/no sourceImageId: every boot and every automatic OS upgrade installs Docker from the Ubuntu archive through the NAT gateway/));
  });
});

describe('GIVEN outboundAccess existing (your own egress) and registryPrivateEndpoint', () => {
  const { doc } = build({ outboundAccess: 'existing', registryPrivateEndpoint: true });

  it('THEN nothing outbound is created, and the registry endpoint is', () => {
    expect(resources(doc, 'azurerm_nat_gateway')).toHaveLength(0);
    expect(resources(doc, 'azurerm_private_endpoint')).toHaveLength(1);
  });
});

describe('GIVEN a pinned gallery image version', () => {
  const { value } = build({ sourceImageId: `${SOURCE_IMAGE_ID}/versions/1.0.0` });

  it('THEN a warning says automatic OS upgrades have nothing to roll out', () => {
    expect(warningsOf(value)).toContainEqual(expect.stringMatching(/sourceImageId pins a gallery image version: automatic OS image upgrades have nothing newer/));
  });
});

describe('GIVEN settings that cannot boot without the internet', () => {
  it.each<[string, Partial<GatewayScaleSetProps>, RegExp]>([
    ['no image that ships Docker', { sourceImageId: undefined }, /sourceImageId: is required with outboundAccess 'none': the default Ubuntu platform image would install Docker from the Ubuntu archive/],
    ['an image on a public registry', { image: 'ghcr.io/acme/linkgate:1.0', acrId: undefined }, /image: "ghcr\.io\/acme\/linkgate:1\.0" is not in an Azure Container Registry .*with outboundAccess 'none' the VMs reach the registry only through a private endpoint/],
    ['no acrId for the private endpoint', { acrId: undefined }, /acrId: is required with outboundAccess 'none': the private endpoint to linkgatetest\.azurecr\.io is created on that registry/],
    ['acrId of another registry than the image\'s', { acrId: ACR_ID.replace(/linkgatetest$/, 'other') }, /acrId: names registry "other", but the image is in linkgatetest\.azurecr\.io/],
    ['registryPrivateEndpoint false', { registryPrivateEndpoint: false }, /registryPrivateEndpoint: cannot be false with outboundAccess 'none'/],
    ['an unknown outboundAccess', { outboundAccess: 'internet' as never }, /outboundAccess: must be one of 'none', 'natGateway', 'existing', got "internet"/],
    ['a sourceImageId that is no image', { sourceImageId: '/subscriptions/x/disks/y' }, /sourceImageId: must be an Azure Compute Gallery image/],
    [
      'a managed image with automatic OS upgrades',
      { sourceImageId: `/subscriptions/${SUBSCRIPTION}/resourceGroups/images/providers/Microsoft.Compute/images/ubuntu-docker` },
      /sourceImageId: is a managed image, and automatic OS image upgrades need a platform or Azure Compute Gallery image/,
    ],
    ['a private DNS zone ID that is not one', { privateDnsZoneIds: { registry: 'privatelink.azurecr.io' } }, /privateDnsZoneIds\.registry: must be a resource ID like .*Microsoft\.Network\/privateDnsZones/],
  ])('GIVEN %s THEN synth fails naming the prop and the fix', (_what, props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
