/**
 * Owner rules on GCP (`allow.gcpProjects`, `allow.gcpNetworks`): the gateway calls
 * serviceAttachments.get with its VMs' service account (lib/gateway/ownership/gcp.ts). Service
 * attachments have no IAM policy of their own, so the narrowest grant is a custom role holding only
 * `compute.serviceAttachments.get`, bound in the project with an IAM condition naming this one
 * attachment (https://cloud.google.com/iam/docs/conditions-resource-attributes#resource-name).
 * Acceptance stays with the attachment's consumer accept list: nothing to grant for it.
 */
import { ProjectIamCustomRole } from '@cdktf/provider-google/lib/project-iam-custom-role';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { Construct } from 'constructs';
import { usesOwnerRules, type GatewayConfigOptions, type OwnershipSettings, type TenantDeclaration } from '../tenants';

/** The service attachment whose connected endpoints the gateway reads. */
export interface GcpOwnershipSource {
  /** projects/P/regions/R/serviceAttachments/N, known at synth time (it goes into the VMs' boot data). */
  readonly serviceAttachment: string;
}

/** The gateway config's `ownership`, or a problem; nothing when no tenant has GCP owner rules and none is asked for. */
export function resolveGcpOwnership(
  tenants: readonly TenantDeclaration[],
  settings: OwnershipSettings | undefined,
  source: GcpOwnershipSource | undefined,
): { ownership?: NonNullable<GatewayConfigOptions['ownership']>; problem?: string } {
  if (!usesOwnerRules(tenants, 'gcp') && settings === undefined) return {};
  if (!source) {
    return {
      problem:
        'tenants use allow.gcpProjects or allow.gcpNetworks (or ownership is set) but ownershipSource is not: pass ownershipSource: { serviceAttachment: "projects/P/regions/R/serviceAttachments/N" }',
    };
  }
  // Acceptance is the accept list's on GCP: the gateway has nothing to accept with.
  return { ownership: { ...settings, accept: 'none', gcp: { serviceAttachment: source.serviceAttachment } } };
}

export interface OwnershipReaderProps {
  readonly project: string;
  readonly source: GcpOwnershipSource;
  /** `serviceAccount:…` of the gateway VMs. */
  readonly member: string;
  /** Custom role ID, unique in the project (letters, digits, underscores, dots). */
  readonly roleId: string;
}

export class OwnershipReader extends Construct {
  readonly role: ProjectIamCustomRole;
  readonly binding: ProjectIamMember;

  constructor(scope: Construct, id: string, props: OwnershipReaderProps) {
    super(scope, id);
    this.role = new ProjectIamCustomRole(this, 'Role', {
      project: props.project,
      roleId: props.roleId,
      title: 'linkgate ownership reader',
      description: 'Read the connected endpoints of one PSC service attachment',
      permissions: ['compute.serviceAttachments.get'],
    });
    this.binding = new ProjectIamMember(this, 'Binding', {
      project: props.project,
      role: this.role.name,
      member: props.member,
      condition: {
        title: 'linkgate service attachment only',
        expression: `resource.name == ${JSON.stringify(props.source.serviceAttachment)}`,
      },
    });
  }
}
