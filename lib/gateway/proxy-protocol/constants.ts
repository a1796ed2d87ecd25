/** PROXY protocol version 2 constants (haproxy doc/proxy-protocol.txt, section 2.2). */

/** "\r\n\r\n\0\r\nQUIT\n": chosen so that no valid v1 or other protocol starts with it. */
export const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
export const SIGNATURE_LENGTH = 12;
/** Signature, version/command, family/transport, 2-byte length. */
export const FIXED_HEADER_LENGTH = 16;
/** The 2-byte length field allows at most this much after the fixed part. */
export const MAX_BODY_LENGTH = 0xffff;

export const VERSION_2 = 0x2;
export const COMMAND_LOCAL = 0x0;
export const COMMAND_PROXY = 0x1;

export const FAMILY_UNSPEC = 0x0;
export const FAMILY_INET = 0x1;
export const FAMILY_INET6 = 0x2;
export const FAMILY_UNIX = 0x3;

export const TRANSPORT_UNSPEC = 0x0;
export const TRANSPORT_STREAM = 0x1;
export const TRANSPORT_DGRAM = 0x2;

/** Address block sizes: "the receiver must not start parsing an address before it has all of it". */
export const ADDRESS_BLOCK_LENGTH: Readonly<Record<number, number>> = {
  [FAMILY_UNSPEC]: 0,
  [FAMILY_INET]: 12, // 4 + 4 + 2 + 2
  [FAMILY_INET6]: 36, // 16 + 16 + 2 + 2
  [FAMILY_UNIX]: 216, // 108 + 108
};

export const TLV_HEADER_LENGTH = 3;
export const PP2_TYPE_ALPN = 0x01;
export const PP2_TYPE_AUTHORITY = 0x02;
export const PP2_TYPE_CRC32C = 0x03;
export const PP2_TYPE_NOOP = 0x04;
export const PP2_TYPE_UNIQUE_ID = 0x05;
export const PP2_TYPE_SSL = 0x20;
export const PP2_TYPE_NETNS = 0x30;

/** Cloud link-ID TLVs (shared/CLOUD-FACTS.md). */
export const PP2_TYPE_GCP = 0xe0;
export const PP2_TYPE_AWS = 0xea;
export const PP2_TYPE_AZURE = 0xee;
/** AWS and Azure put a subtype byte before the value; 0x01 is the endpoint / link ID. */
export const PP2_SUBTYPE_AWS_VPCE_ID = 0x01;
export const PP2_SUBTYPE_AZURE_LINK_ID = 0x01;
