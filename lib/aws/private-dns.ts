/**
 * A private DNS name for the endpoint service, with the TXT record that proves the provider owns
 * it. CloudFormation has no property for either, so the EC2 API is called at deploy time.
 *
 * Written here rather than with route53.VpcEndpointServiceDomainName: that construct keeps a
 * process-wide registry of services, which rejects a second app with the same construct paths in
 * one process (every test), and it does not report the verification state.
 */
import { Stack, Token } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { hostnameSchema } from '../tenants';
import { fail, show } from './internal/validate';

export interface EndpointServicePrivateDnsProps {
  /** The endpoint service to name. */
  readonly endpointService: ec2.IVpcEndpointService;
  /** The private DNS name consumers use, e.g. `api.example.com`. One per endpoint service. */
  readonly domainName: string;
  /**
   * The public hosted zone (in this account) that contains `domainName`: the ownership TXT
   * record goes there.
   */
  readonly publicHostedZone: route53.IPublicHostedZone;
}

/**
 * Sets the endpoint service's private DNS name, writes the verification TXT record into the
 * public zone, starts verification, and reports the verification state read right after (usually
 * `pendingVerification`: AWS checks the record within minutes). The state is read again only when
 * the name changes; for the current state run
 * `aws ec2 describe-vpc-endpoint-service-configurations --service-ids <id>`.
 */
export class EndpointServicePrivateDns extends Construct {
  readonly domainName: string;
  /** Name of the TXT record written into the public zone (token). */
  readonly verificationRecordName: string;
  /** `pendingVerification`, `verified` or `failed`, read when the name was last set (token). */
  readonly verificationState: string;
  readonly verificationRecord: route53.TxtRecord;

  constructor(scope: Construct, id: string, props: EndpointServicePrivateDnsProps) {
    super(scope, id);
    if (!props.publicHostedZone) {
      fail(this, `private DNS name ${show(props.domainName)} needs publicHostedZone: the public hosted zone that holds the ownership TXT record`);
    }
    this.domainName = checkDomainName(this, props.domainName, props.publicHostedZone);

    const serviceId = props.endpointService.vpcEndpointServiceId;
    const serviceArn = Stack.of(this).formatArn({ service: 'ec2', resource: 'vpc-endpoint-service', resourceName: serviceId });
    const onService = (...actions: string[]) => new iam.PolicyStatement({ actions, resources: [serviceArn] });
    // Describe calls support no resource-level permissions.
    const describe = new iam.PolicyStatement({ actions: ['ec2:DescribeVpcEndpointServiceConfigurations'], resources: ['*'] });

    const setName: cr.AwsSdkCall = {
      service: 'EC2',
      action: 'ModifyVpcEndpointServiceConfiguration',
      parameters: { ServiceId: serviceId, PrivateDnsName: this.domainName },
      // Constant: a changed name updates in place; a new physical ID would make CloudFormation
      // delete the old one afterwards, which would remove the new name.
      physicalResourceId: cr.PhysicalResourceId.of('private-dns-name'),
    };
    const enable = new cr.AwsCustomResource(this, 'SetName', {
      onCreate: setName,
      onUpdate: setName,
      onDelete: {
        service: 'EC2',
        action: 'ModifyVpcEndpointServiceConfiguration',
        parameters: { ServiceId: serviceId, RemovePrivateDnsName: true },
      },
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([onService('ec2:ModifyVpcEndpointServiceConfiguration')]),
    });

    const prefix = 'ServiceConfigurations.0.PrivateDnsNameConfiguration';
    const readConfiguration = (label: string): cr.AwsSdkCall => ({
      service: 'EC2',
      action: 'DescribeVpcEndpointServiceConfigurations',
      parameters: { ServiceIds: [serviceId] },
      // The name is part of the ID so that a new name reads the new record values.
      physicalResourceId: cr.PhysicalResourceId.of(`${label}:${this.domainName}`),
      outputPaths: [`${prefix}.Name`, `${prefix}.Value`, `${prefix}.State`],
    });
    const challenge = new cr.AwsCustomResource(this, 'ReadChallenge', {
      onCreate: readConfiguration('challenge'),
      onUpdate: readConfiguration('challenge'),
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([describe]),
    });
    challenge.node.addDependency(enable);

    this.verificationRecordName = challenge.getResponseField(`${prefix}.Name`);
    // Written into the zone apex: it proves ownership of the zone's domain, which covers the
    // private DNS name (AWS accepts a verified parent domain).
    this.verificationRecord = new route53.TxtRecord(this, 'VerificationRecord', {
      zone: props.publicHostedZone,
      recordName: this.verificationRecordName,
      values: [challenge.getResponseField(`${prefix}.Value`)],
    });

    const start: cr.AwsSdkCall = {
      service: 'EC2',
      action: 'StartVpcEndpointServicePrivateDnsVerification',
      parameters: { ServiceId: serviceId },
      physicalResourceId: cr.PhysicalResourceId.of(`verify:${this.domainName}`),
    };
    const verify = new cr.AwsCustomResource(this, 'StartVerification', {
      onCreate: start,
      onUpdate: start,
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([onService('ec2:StartVpcEndpointServicePrivateDnsVerification')]),
    });
    verify.node.addDependency(this.verificationRecord);

    const state = new cr.AwsCustomResource(this, 'ReadState', {
      onCreate: readConfiguration('state'),
      onUpdate: readConfiguration('state'),
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([describe]),
    });
    state.node.addDependency(verify);
    this.verificationState = state.getResponseField(`${prefix}.State`);
  }
}

function checkDomainName(scope: Construct, domainName: string, zone: route53.IPublicHostedZone): string {
  if (Token.isUnresolved(domainName)) return domainName;
  const parsed = hostnameSchema.safeParse(domainName);
  if (!parsed.success || domainName.startsWith('*.')) {
    fail(scope, `private DNS name ${show(domainName)} is not a host name; expected DNS labels like api.example.com (no wildcard)`);
  }
  const name = parsed.data;
  if (!Token.isUnresolved(zone.zoneName)) {
    const zoneName = zone.zoneName.toLowerCase().replace(/\.$/, '');
    if (name !== zoneName && !name.endsWith(`.${zoneName}`)) {
      fail(
        scope,
        `private DNS name ${show(name)} is not inside the public hosted zone ${show(zoneName)}; ` +
          `use a name under ${zoneName} or the zone that holds ${name}`,
      );
    }
  }
  return name;
}
