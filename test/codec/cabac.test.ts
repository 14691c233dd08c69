import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinaryDecoder, BinaryEncoder, decodeSymbolTree, encodeSymbolTree, newContexts } from '../../src/codec/arith.js';
import { decodeIntsCabac, encodeIntsCabac } from '../../src/codec/cabac.js';
import { expectModelpressError, fromHex, fuzzDecoder, hex, laplaceInts, rng } from './helpers.js';

describe('binary range coder', () => {
  it('round-trips adaptive, bypass and fixed-probability bits', () => {
    const r = rng(3);
    const bits = Array.from({ length: 5000 }, () => (r() < 0.9 ? 0 : 1));
    const enc = new BinaryEncoder(1);
    const ctx = newContexts(2);
    bits.forEach((b, i) => {
      if (i % 3 === 0) enc.encodeBypass(b, 1);
      else if (i % 3 === 1) enc.encodeBit(ctx, i & 1, b);
      else enc.encodeBitWithProbability(1 + ((i * 7919) % 32766), b);
    });
    const bytes = enc.finish();
    const dec = new BinaryDecoder(bytes);
    const ctx2 = newContexts(2);
    bits.forEach((b, i) => {
      const got =
        i % 3 === 0
          ? dec.decodeBypass(1)
          : i % 3 === 1
            ? dec.decodeBit(ctx2, i & 1)
            : dec.decodeBitWithProbability(1 + ((i * 7919) % 32766));
      expect(got).toBe(b);
    });
    dec.checkEnd();
  });

  it('tree coding (fast path) matches a bit-by-bit walk with encodeBit/decodeBit (reference)', () => {
    const r = rng(8);
    const symbols = Array.from({ length: 3000 }, () => Math.floor(r() * r() * 256));
    const ctxOf = (i: number) => (i === 0 ? 0 : symbols[i - 1]! & 3) << 8;
    // fast encoder, reference decoder
    const enc = new BinaryEncoder(1);
    const probsA = newContexts(4 << 8);
    symbols.forEach((s, i) => encodeSymbolTree(enc, probsA, ctxOf(i), 8, s));
    const bytes = enc.finish();
    const dec = new BinaryDecoder(bytes);
    const probsB = newContexts(4 << 8);
    symbols.forEach((s, i) => {
      let node = 1;
      for (let b = 0; b < 8; b++) node = (node << 1) | dec.decodeBit(probsB, ctxOf(i) + node);
      expect(node - 256).toBe(s);
    });
    dec.checkEnd();
    // reference encoder, fast decoder
    const enc2 = new BinaryEncoder(1);
    const probsC = newContexts(4 << 8);
    symbols.forEach((s, i) => {
      let node = 1;
      for (let b = 7; b >= 0; b--) {
        const bit = (s >>> b) & 1;
        enc2.encodeBit(probsC, ctxOf(i) + node, bit);
        node = (node << 1) | bit;
      }
    });
    const bytes2 = enc2.finish();
    expect(hex(bytes2)).toBe(hex(bytes));
    const dec2 = new BinaryDecoder(bytes2);
    const probsD = newContexts(4 << 8);
    symbols.forEach((s, i) => expect(decodeSymbolTree(dec2, probsD, ctxOf(i), 8)).toBe(s));
    dec2.checkEnd();
    expect(hex(new Uint8Array(probsD.buffer))).toBe(hex(new Uint8Array(probsB.buffer)));
  });

  it('codes a skewed adaptive source near its entropy', () => {
    const r = rng(5);
    const n = 100_000;
    const enc = new BinaryEncoder();
    const ctx = newContexts(1);
    for (let i = 0; i < n; i++) enc.encodeBit(ctx, 0, r() < 0.05 ? 1 : 0);
    const entropyBytes = (n * -(0.05 * Math.log2(0.05) + 0.95 * Math.log2(0.95))) / 8;
    const size = enc.finish().length;
    expect(size).toBeLessThan(entropyBytes * 1.04); // adaptivity costs ~3% on a stationary source
    expect(size).toBeGreaterThan(entropyBytes * 0.97);
  });
});

describe('encodeIntsCabac / decodeIntsCabac', () => {
  it('golden bytes', () => {
    const values = Int32Array.of(0, 1, -1, 5, 0, 0, 200, -3, 0, 0, 0, 2);
    expect(hex(encodeIntsCabac(values))).toBe('0166e91298b81101000000');
    expect(Array.from(decodeIntsCabac(fromHex('0166e91298b81101000000'), 12))).toEqual(Array.from(values));
  });

  it('round-trips random, skewed, constant, extreme and empty streams for every gtFlags', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.integer({ min: -2147483648, max: 2147483647 }), { maxLength: 300 }),
          fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 2000 }),
          fc.array(fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 1, -1, 7), { maxLength: 2000 }),
          fc.integer({ min: 0, max: 500 }).map((n) => new Array<number>(n).fill(-2147483648)),
        ),
        fc.integer({ min: 0, max: 32 }),
        (arr, gtFlags) => {
          const values = Int32Array.from(arr);
          const enc = encodeIntsCabac(values, { gtFlags });
          expect(Array.from(decodeIntsCabac(enc, values.length))).toEqual(Array.from(values));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('beats order-0 entropy on data whose scale changes along the tensor', () => {
    // Two halves with different scales: a local-magnitude context sees it, order-0 does not.
    const a = laplaceInts(50_000, 1, 1);
    const b = laplaceInts(50_000, 20, 2);
    const values = new Int32Array(100_000);
    values.set(a);
    values.set(b, 50_000);
    const hist = new Map<number, number>();
    for (const v of values) hist.set(v, (hist.get(v) ?? 0) + 1);
    let h = 0;
    for (const c of hist.values()) h -= c * Math.log2(c / values.length);
    expect(encodeIntsCabac(values).length).toBeLessThan((h / 8) * 0.92);
  });

  it('rejects bad options and headers', () => {
    expectModelpressError(() => encodeIntsCabac(Int32Array.of(1), { gtFlags: 33 }), ['E_ARG']);
    expectModelpressError(() => decodeIntsCabac(new Uint8Array(0), 0), ['E_TRUNCATED']);
    expectModelpressError(() => decodeIntsCabac(Uint8Array.of(40, 0, 0, 0, 0), 1), ['E_CORRUPT']);
    expectModelpressError(() => decodeIntsCabac(fromHex('0166e91298b81101000000ff'), 12), ['E_CORRUPT']); // trailing byte
  });

  it('throws on every truncation and never misbehaves on bit flips', () => {
    const values = laplaceInts(400, 4, 9);
    const enc = encodeIntsCabac(values);
    fuzzDecoder(enc, (b) => decodeIntsCabac(b, values.length), values.length);
  });
});
