export * from './constants';
export * from './crc32c';
export * from './cloud-tlv';
export * from './decoder';
export * from './encoder';
export { formatIPv4, formatIPv6 } from './addresses';
