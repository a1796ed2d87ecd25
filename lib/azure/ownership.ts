/**
 * Owner rules on Azure (`allow.azureSubscriptions`): the gateway GETs the Private Link Service with
 * its scale set's managed identity (lib/gateway/ownership/azure.ts). This defines the narrowest
 * role for that: a custom role with `Microsoft.Network/privateLinkServices/read` (plus
 * `…/privateEndpointConnections/write` when the gateway approves or rejects), assigned on that
 * Private Link Service alone. No built-in role is that narrow (Reader reads the whole scope,
 * Network Contributor writes it).
 */
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
import { Construct } from 'constructs';
import { usesOwnerRules, type GatewayConfigOptions, type OwnershipSettings, type TenantDeclaration } from '../tenants';

/** The Private Link Service whose connections the gateway reads. */
export interface AzureOwnershipSource {
  /**
   * Its resource ID, known at synth time (it is written into the VMs' boot data):
   * /subscriptions/<GUID>/resourceGroups/<rg>/providers/Microsoft.Network/privateLinkServices/<name>.
   */
  readonly privateLinkServiceId: string;
}

/** The gateway config's `ownership`, or undefined when no tenant has owner rules and none is asked for. */
export function resolveAzureOwnership(
  tenants: readonly TenantDeclaration[],
  settings: OwnershipSettings | undefined,
  source: AzureOwnershipSource | undefined,
): { ownership?: NonNullable<GatewayConfigOptions['ownership']>; problem?: string } {
  if (!usesOwnerRules(tenants, 'azure') && settings === undefined) return {};
  if (!source) {
    return {
      problem:
        'tenants use allow.azureSubscriptions (or ownership is set) but ownershipSource is not: pass ownershipSource: { privateLinkServiceId } (the Private Link Service\'s resource ID)',
    };
  }
  return { ownership: { ...settings, azure: { privateLinkService: source.privateLinkServiceId } } };
}

export interface OwnershipRoleProps {
  readonly source: AzureOwnershipSource;
  /** Principal ID of the gateway's managed identity. */
  readonly principalId: string;
  readonly accept: OwnershipSettings['accept'];
  /** Role name, unique in the subscription. */
  readonly roleName: string;
}

/** The custom role and its assignment on the Private Link Service. */
export class OwnershipRole extends Construct {
  readonly definition: RoleDefinition;
  readonly assignment: RoleAssignment;

  constructor(scope: Construct, id: string, props: OwnershipRoleProps) {
    super(scope, id);
    const pls = props.source.privateLinkServiceId;
    const actions = ['Microsoft.Network/privateLinkServices/read'];
    if ((props.accept ?? 'none') !== 'none') actions.push('Microsoft.Network/privateLinkServices/privateEndpointConnections/write');
    this.definition = new RoleDefinition(this, 'Definition', {
      name: props.roleName,
      // A role is defined at a subscription or resource group and may be assigned only where it says.
      scope: pls.replace(/\/providers\/Microsoft\.Network\/privateLinkServices\/[^/]+$/i, ''),
      description: 'linkgate: read who owns each private endpoint connected to one Private Link Service',
      permissions: [{ actions }],
      assignableScopes: [pls],
    });
    this.assignment = new RoleAssignment(this, 'Assignment', {
      scope: pls,
      roleDefinitionId: this.definition.roleDefinitionResourceId,
      principalId: props.principalId,
      principalType: 'ServicePrincipal',
    });
  }
}
