import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32c, crc32cReference, crc32cUpdate } from '../../src/codec/checksum.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('crc32c', () => {
  it('matches the published check values', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    // RFC 3720 (iSCSI) B.4 test vectors
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('slicing-by-8 agrees with the bit-at-a-time reference and is incremental', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (bytes, cut) => {
        const k = Math.min(cut, bytes.length);
        const whole = crc32c(bytes);
        expect(whole).toBe(crc32cReference(bytes));
        expect(crc32cUpdate(crc32cUpdate(0, bytes.subarray(0, k)), bytes.subarray(k))).toBe(whole);
      }),
    );
  });
});
