import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BitReader, BitWriter } from '../../src/codec/bits.js';
import { ByteReader, ByteWriter } from '../../src/codec/bytes.js';
import { expectModelpressError, hex } from './helpers.js';

describe('bit I/O', () => {
  it('writes LSB-first (golden)', () => {
    const w = new BitWriter();
    w.writeBits(0b101, 3);
    w.writeBits(0b11110, 5);
    w.writeBits(0x1234, 16);
    w.writeBit(1);
    expect(hex(w.finish())).toBe('f5341201');
  });

  it('round-trips random (value, width) sequences', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 24 }), fc.nat())), (items) => {
        const w = new BitWriter(1);
        for (const [n, v] of items) w.writeBits(v, n);
        const r = new BitReader(w.finish());
        for (const [n, v] of items) expect(r.readBits(n)).toBe(n === 0 ? 0 : v & ((1 << n) - 1));
      }),
    );
  });

  it('throws E_TRUNCATED past the end', () => {
    const r = new BitReader(Uint8Array.of(0xff));
    expect(r.readBits(8)).toBe(255);
    expectModelpressError(() => r.readBits(1), ['E_TRUNCATED']);
  });
});

describe('byte I/O', () => {
  it('round-trips varints up to 2^53 - 1', () => {
    fc.assert(
      fc.property(fc.array(fc.maxSafeNat()), (values) => {
        const w = new ByteWriter(1);
        for (const v of values) w.varuint(v);
        const r = new ByteReader(w.finish());
        for (const v of values) expect(r.varuint()).toBe(v);
        expect(r.remaining).toBe(0);
      }),
    );
  });

  it('rejects truncated and overlong varints', () => {
    expectModelpressError(() => new ByteReader(Uint8Array.of(0x80)).varuint(), ['E_TRUNCATED']);
    expectModelpressError(() => new ByteReader(new Uint8Array(9).fill(0xff)).varuint(), ['E_CORRUPT']);
    expectModelpressError(() => new ByteReader(Uint8Array.of(1, 2)).bytesView(3), ['E_TRUNCATED']);
  });
});
