import fc from 'fast-check';
import { crc32c, crc32cUpdate, crc32cWithZeroedField } from '../../../lib/gateway/proxy-protocol';

describe('CRC32C (Castagnoli)', () => {
  // Check values from RFC 3720 appendix B.4 and the common "123456789" check.
  test.each([
    ['123456789 (check value)', Buffer.from('123456789'), 0xe3069283],
    ['32 bytes of zeros', Buffer.alloc(32), 0x8a9136aa],
    ['32 bytes of ones', Buffer.alloc(32, 0xff), 0x62a8ab43],
    ['32 incrementing bytes', Buffer.from([...Array(32).keys()]), 0x46dd794e],
    ['32 decrementing bytes', Buffer.from([...Array(32).keys()].reverse()), 0x113fdb5c],
    ['empty', Buffer.alloc(0), 0],
  ])('GIVEN %s THEN the checksum matches the published value', (_name, bytes, expected) => {
    expect(crc32c(bytes)).toBe(expected);
  });

  test('GIVEN any bytes split anywhere THEN continuing the checksum equals one pass', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (bytes, cut) => {
        const at = bytes.length ? cut % bytes.length : 0;
        expect(crc32cUpdate(crc32cUpdate(0, bytes, 0, at), bytes, at, bytes.length)).toBe(crc32c(bytes));
      }),
    );
  });

  test('GIVEN a field to zero THEN the result equals the checksum of a zeroed copy', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 200 }), fc.nat(), (bytes, pos) => {
        const at = pos % (bytes.length - 3);
        const zeroed = Buffer.from(bytes);
        zeroed.fill(0, at, at + 4);
        expect(crc32cWithZeroedField(bytes, 0, bytes.length, at)).toBe(crc32c(zeroed));
      }),
    );
  });
});
