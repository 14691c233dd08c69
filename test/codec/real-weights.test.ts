// Coders on the real fixture weights: CABAC against Huffman on the same
// quantized indices, and lossless float coding against the byte-plane bound.
import { describe, expect, it } from 'vitest';
import { decodeIntsCabac, encodeIntsCabac } from '../../src/codec/cabac.js';
import { decodeFloats, encodeFloats } from '../../src/codec/floatplanes.js';
import { decodeHuffman, encodeHuffman } from '../../src/codec/huffman.js';
import { bytePlaneBound, concatFloatWeights, loadFloatWeights, quantizeSymmetric } from '../../support/weights-fixture.js';

const MODELS = ['cls', 'silero', 'det', 'rec'] as const;

/** Element-wise equality without vitest's slow deep diff on multi-megabyte arrays. */
function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe('CABAC vs Huffman on real quantized weights', () => {
  for (const model of MODELS) {
    it(`${model}: CABAC is smaller than Huffman at 8 and 5 bits, both exact`, () => {
      const tensors = loadFloatWeights(model);
      expect(tensors.length).toBeGreaterThan(50);
      for (const bits of [8, 5]) {
        let huffman = 0;
        let cabac = 0;
        let count = 0;
        for (const t of tensors) {
          const q = quantizeSymmetric(t.data, bits);
          const offset = 2 ** (bits - 1);
          const symbols = Uint8Array.from(q, (v) => v + offset);
          const h = encodeHuffman(symbols, 2 ** bits);
          const c = encodeIntsCabac(q);
          expect(same(decodeHuffman(h, symbols.length), symbols)).toBe(true);
          expect(same(decodeIntsCabac(c, q.length), q)).toBe(true);
          huffman += h.length;
          cabac += c.length;
          count += q.length;
        }
        const gain = (1 - cabac / huffman) * 100;
        console.log(
          `${model} ${bits}-bit: ${count} weights, ${tensors.length} tensors, huffman ${huffman} B, cabac ${cabac} B, cabac saves ${gain.toFixed(2)}%`,
        );
        expect(cabac).toBeLessThan(huffman);
      }
    });
  }
});

describe('lossless float32 coding on real weights', () => {
  for (const model of MODELS) {
    it(`${model}: bit-exact and better than the order-0 byte-plane entropy bound`, () => {
      const tensors = loadFloatWeights(model);
      const bytes = concatFloatWeights(tensors);
      const enc = encodeFloats(bytes, 'float32');
      expect(same(decodeFloats(enc, 'float32', bytes.length), bytes)).toBe(true);
      const bound = bytePlaneBound(bytes);
      console.log(
        `${model}: float32 weights ${bytes.length} B -> ${enc.length} B, ratio ${(bytes.length / enc.length).toFixed(4)}, order-0 byte-plane bound ${(bytes.length / bound).toFixed(4)}`,
      );
      // Conditioning the exponent on its predecessor and the high mantissa on the exponent beats the order-0 bound.
      expect(enc.length).toBeLessThan(bound);
    });
  }
});
