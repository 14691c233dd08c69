import fc from 'fast-check';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeBytes, encodeBytes } from '../../src/codec/bytecoder.js';
import { expectModelpressError, fromHex, fuzzDecoder, hex } from './helpers.js';

describe('encodeBytes / decodeBytes', () => {
  it('golden bytes', () => {
    const text = new TextEncoder().encode('conv2d_1.w_0 conv2d_2.w_0 conv2d_3.w_0 conv2d_4.w_0');
    const golden = '014f5b1340e3232be965ecb835816abe07fbc78edd160b07b5299da0';
    expect(hex(encodeBytes(text))).toBe(golden);
    expect(hex(decodeBytes(fromHex(golden), text.length))).toBe(hex(text));
  });

  it('round-trips random, repetitive and empty byte strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 3000 }),
          fc
            .array(fc.constantFrom(...'onnx::Conv_12 weight bias '.split('')), { maxLength: 3000 })
            .map((a) => new TextEncoder().encode(a.join(''))),
          fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 50 }), fc.integer({ min: 1, max: 100 })).map(([u, k]) => {
            const out = new Uint8Array(u.length * k);
            for (let i = 0; i < k; i++) out.set(u, i * u.length);
            return out;
          }),
        ),
        (bytes) => {
          const enc = encodeBytes(bytes);
          expect(enc.length).toBeLessThanOrEqual(bytes.length + 1);
          expect(hex(decodeBytes(enc, bytes.length))).toBe(hex(bytes));
        },
      ),
      { numRuns: 120 },
    );
  });

  it('beats deflate on structured text', () => {
    const lines: string[] = [];
    for (let i = 0; i < 400; i++)
      lines.push(`node { op_type: "Conv" name: "conv2d_${i}" input: "x_${i}" input: "conv2d_${i}.w_0" output: "x_${i + 1}" }`);
    const bytes = new TextEncoder().encode(lines.join('\n'));
    const ours = encodeBytes(bytes).length;
    expect(ours).toBeLessThan(deflateRawSync(bytes, { level: 9 }).length);
    expect(hex(decodeBytes(encodeBytes(bytes), bytes.length))).toBe(hex(bytes));
  });

  it('rejects bad streams', () => {
    expectModelpressError(() => decodeBytes(new Uint8Array(0), 0), ['E_TRUNCATED']);
    expectModelpressError(() => decodeBytes(Uint8Array.of(7), 0), ['E_CORRUPT']);
    expectModelpressError(() => decodeBytes(Uint8Array.of(0, 1, 2), 3), ['E_TRUNCATED']);
  });

  it('throws on every truncation and never misbehaves on bit flips', () => {
    const bytes = new TextEncoder().encode('input: "conv2d_1.w_0" input: "conv2d_1.b_0" output: "relu_1" '.repeat(3));
    const enc = encodeBytes(bytes);
    expect(enc[0]).toBe(1);
    fuzzDecoder(enc, (b) => decodeBytes(b, bytes.length), bytes.length, 3);
  });
});
