import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CODER } from '../../src/codec/container/coders.js';
import { packModel, unpackModel } from '../../src/codec/container/index.js';
import { encodeTensor } from '../../src/codec/container/encode-tensor.js';
import { decodeMpz } from '../../src/browser/decode.js';
import { decodeFastFloat, encodeFastFloat, type FastFloatDType } from '../../src/codec/fastfloat.js';
import { encodeFloats } from '../../src/codec/floatplanes.js';
import { REAL_FIXTURES, readBytes } from './container-helpers.js';
import { expectModelpressError, fuzzDecoder, hex, rng } from './helpers.js';

const SPECIAL_F32 = [0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffbfffff, 0x00000001, 0x807fffff];
const SPECIAL_16 = [0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfdff, 0x0001, 0x83ff, 0x7f80, 0xff81];
const DTYPES: FastFloatDType[] = ['float32', 'float16', 'bfloat16'];

function weightLike(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = (r() + r() + r() - 1.5) * 0.05;
  const bits = new Uint32Array(f.buffer);
  for (let i = 0; i < n; i += 97) bits[i] = SPECIAL_F32[i % SPECIAL_F32.length]!;
  return new Uint8Array(f.buffer);
}

describe('fastfloat coder', () => {
  it('property: any bytes of any float dtype round-trip bit-exactly', () => {
    fc.assert(
      fc.property(fc.constantFrom(...DTYPES), fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.boolean(), (dtype, raw, skew) => {
        const w = dtype === 'float32' ? 4 : 2;
        const bytes = raw.subarray(0, raw.length - (raw.length % w));
        // skewed: few distinct high bytes, so the field planes are Huffman-coded, not stored
        if (skew) for (let i = w - 1; i < bytes.length; i += w) bytes[i] = bytes[i]! & 0x83;
        const enc = encodeFastFloat(bytes, dtype);
        expect(hex(decodeFastFloat(enc, bytes.length))).toBe(hex(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('round-trips specials (NaN payloads, -0, infinities, subnormals) in every dtype', () => {
    const f32 = new Uint8Array(Uint32Array.from({ length: 4000 }, (_, i) => SPECIAL_F32[i % SPECIAL_F32.length]! ^ (i & 3)).buffer);
    expect(hex(decodeFastFloat(encodeFastFloat(f32, 'float32'), f32.length))).toBe(hex(f32));
    const h = new Uint8Array(Uint16Array.from({ length: 4000 }, (_, i) => SPECIAL_16[i % SPECIAL_16.length]!).buffer);
    for (const d of ['float16', 'bfloat16'] as const) expect(hex(decodeFastFloat(encodeFastFloat(h, d), h.length))).toBe(hex(h));
  });

  it('codes weight-like float32 within 3% of the context-modelled floatplanes coder', () => {
    const bytes = weightLike(65536, 3);
    const fast = encodeFastFloat(bytes, 'float32').length;
    const slow = encodeFloats(bytes, 'float32').length;
    expect(fast).toBeLessThan(bytes.length * 0.9);
    expect(fast).toBeLessThan(slow * 1.03);
  });

  it('rejects corrupt and truncated chunks with typed errors', () => {
    const bytes = weightLike(512, 5);
    const enc = encodeFastFloat(bytes, 'float32');
    fuzzDecoder(enc, (b) => decodeFastFloat(b, bytes.length), bytes.length, 7);
    expectModelpressError(() => decodeFastFloat(Uint8Array.of(9), 4), ['E_CORRUPT']);
    expectModelpressError(() => decodeFastFloat(enc, bytes.length - 2), ['E_CORRUPT']);
    expectModelpressError(() => decodeFastFloat(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 8), ['E_CORRUPT', 'E_TRUNCATED']);
    expectModelpressError(() => encodeFastFloat(new Uint8Array(6), 'float32'), ['E_ARG']);
  });

  it('is the default float coder; slowCoderMinGain 0 (--smallest) also tries floatplanes and keeps the smallest', () => {
    const bytes = weightLike(65536, 9);
    expect(encodeTensor(bytes, 'float32').best.coder).toBe(CODER.fastFloat);
    const smallest = encodeTensor(bytes, 'float32', { slowCoderMinGain: 0 });
    expect(smallest.tried['floatplanes-f32']).toBeDefined();
    for (const size of Object.values(smallest.tried)) expect(smallest.best.size).toBeLessThanOrEqual(size);
  });

  it('rec packs byte-identically with fastfloat (format 1.2), through the browser decoder too, within 3% of the --smallest size', async () => {
    const rec = REAL_FIXTURES.find((p) => p.includes('rec'))!;
    const original = readBytes(rec);
    const input = { format: 'onnx' as const, files: [{ name: '', bytes: original }] };
    const fast = packModel(input, { verify: false });
    expect(fast.bytes[9]).toBe(2);
    expect(fast.report.stages.fastfloat!.rawBytes).toBeGreaterThan(original.length * 0.9);
    expect(Buffer.compare(Buffer.from(unpackModel(fast.bytes).files[0]!.bytes), Buffer.from(original))).toBe(0);
    expect(Buffer.compare(Buffer.from(await decodeMpz(fast.bytes)), Buffer.from(original))).toBe(0);
    const smallest = packModel(input, { verify: false, slowCoderMinGain: 0 });
    expect(smallest.report.stages['floatplanes-f32']!.rawBytes).toBeGreaterThan(original.length * 0.5);
    expect(smallest.bytes.length).toBeLessThan(fast.bytes.length);
    expect(fast.bytes.length).toBeLessThan(smallest.bytes.length * 1.03);
  });
});
