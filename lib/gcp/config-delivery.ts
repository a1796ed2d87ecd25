/**
 * How the tenant config reaches the gateway VMs (issue 12, contract A):
 *
 *  - `inline`: inside the instance template's `user-data` (gzip+base64), as before. Every change
 *    makes a new template and a rolling replacement of the VMs.
 *  - `objectStore`: a Cloud Storage object the gateway polls (`LINKGATE_CONFIG_URL=gs://...`, token
 *    from the metadata server), applied atomically and fail-closed by the gateway. A tenant change
 *    rewrites the object only: running VMs pick it up within the poll interval, nobody is replaced.
 *  - `auto` (default): inline while the user-data stays under `INLINE_USER_DATA_MAX_BYTES`, the
 *    object store above it.
 *
 * The bucket: uniform bucket-level access, public access prevention enforced, versioned (a bad
 * config can be rolled back by restoring the previous generation), and one IAM grant:
 * `roles/storage.objectViewer` for the gateway's service account. Who else can read it: principals
 * with `storage.objects.get` from a project- or higher-level grant (project Owners and Editors,
 * Storage Admin / Object Viewer at project, folder or organization level) and the identity that
 * deploys, which writes it. The VMs reach storage.googleapis.com without public egress through
 * Private Google Access on their subnetwork.
 */
import { createHash } from 'node:crypto';
import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object';
import { Construct } from 'constructs';

export type ConfigDelivery = 'auto' | 'inline' | 'objectStore';
export const CONFIG_DELIVERIES: readonly ConfigDelivery[] = ['auto', 'inline', 'objectStore'];

/**
 * `auto` keeps the config inline while the whole user-data is at most this: a quarter of the
 * 256 KiB metadata value limit (`METADATA_VALUE_MAX_BYTES`), so template changes stay small and
 * fast, and roughly 2,000 tenants of the usual shape (29.5 KB per 1,000 measured) ride inline.
 */
export const INLINE_USER_DATA_MAX_BYTES = 64 * 1024;

/** The object's name in the bucket. */
export const CONFIG_OBJECT_NAME = 'linkgate/config.json';

export interface ConfigBucketProps {
  readonly project: string;
  readonly region: string;
  /** Resource name prefix of the gateway. */
  readonly name: string;
  /** The rendered gateway config (JSON). */
  readonly configJson: string;
  /** `serviceAccount:...` member of the gateway's identity. */
  readonly readerMember: string;
  /**
   * Globally unique bucket name.
   * @default - `<project>-<name>-linkgate-config`, shortened with a hash past 63 characters
   */
  readonly bucketName?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** The config bucket, its one object, and the gateway's read access (nothing else). */
export class GatewayConfigBucket extends Construct {
  readonly bucket: StorageBucket;
  readonly object: StorageBucketObject;
  readonly readerGrant: StorageBucketIamMember;
  readonly bucketName: string;

  constructor(scope: Construct, id: string, props: ConfigBucketProps) {
    super(scope, id);
    this.bucketName = props.bucketName ?? bucketName(props.project, props.name);
    this.bucket = new StorageBucket(this, 'Resource', {
      project: props.project,
      name: this.bucketName,
      location: props.region.toUpperCase(),
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      versioning: { enabled: true },
      // Old generations are for rollback, not for ever.
      lifecycleRule: [{ action: { type: 'Delete' }, condition: { numNewerVersions: 10, withState: 'ARCHIVED' } }],
      // It holds only the config Terraform writes; destroying the gateway removes it.
      forceDestroy: true,
      labels: props.labels ? { ...props.labels } : undefined,
    });
    this.object = new StorageBucketObject(this, 'Config', {
      bucket: this.bucket.name,
      name: CONFIG_OBJECT_NAME,
      content: props.configJson,
      contentType: 'application/json',
    });
    this.readerGrant = new StorageBucketIamMember(this, 'GatewayRead', {
      bucket: this.bucket.name,
      role: 'roles/storage.objectViewer',
      member: props.readerMember,
    });
  }

  /** What the gateway reads: `gs://BUCKET/linkgate/config.json`. */
  get url(): string {
    return `gs://${this.bucketName}/${CONFIG_OBJECT_NAME}`;
  }
}

function bucketName(project: string, name: string): string {
  const base = `${project}-${name}-linkgate-config`.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  if (base.length <= 63) return base;
  const hash = createHash('sha256').update(base).digest('hex').slice(0, 8);
  return `${base.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}
