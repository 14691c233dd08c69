import fc from 'fast-check';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { isModelpressError } from '../../src/core/errors.js';
import { readOnnx, writeOnnx } from '../../src/formats/onnx/index.js';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { getScheme, quantizeModel } from '../../src/quantize/index.js';
import {
  absmeanCodes,
  binaryCodes,
  codesPerByte,
  dequantizeCodes,
  packBits,
  packTrits,
  ternaryCodes,
  ttqCodes,
  twnCodes,
  TWN_THRESHOLD,
  unpackBits,
  unpackTrits,
  type CodesResult,
  type TernaryKind,
} from '../../src/quantize/ternary.js';
import { rng, runModel } from '../../support/quantize-fixtures.js';

const KINDS: readonly TernaryKind[] = ['binary', 'ternary', 'ternary-absmean', 'ttq'];

/** A weight tensor: [channels, inner] with float32 values. */
const weightArb = fc
  .record({ channels: fc.integer({ min: 1, max: 5 }), inner: fc.integer({ min: 1, max: 13 }) })
  .chain(({ channels, inner }) =>
    fc
      .array(fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true }), {
        minLength: channels * inner,
        maxLength: channels * inner,
      })
      .map((v) => ({ shape: [channels, inner], x: Float32Array.from(v) })),
  );

function sse(x: Float32Array, r: CodesResult, c: number, scale: number, inner: number): number {
  let e = 0;
  for (let i = c * inner; i < (c + 1) * inner; i++) e += (x[i]! - r.codes[i]! * scale) ** 2;
  return e;
}

describe('binary and ternary quantizers (reference formulas)', () => {
  it('codes are in the set and scales follow the formula of each scheme', () => {
    fc.assert(
      fc.property(weightArb, ({ shape, x }) => {
        const [channels, inner] = shape as [number, number];
        for (const kind of KINDS.filter((k) => k !== 'ttq')) {
          const r = ternaryCodes(kind, x, shape, 0);
          expect(r.scales.length).toBe(channels);
          for (const c of r.codes) expect(kind === 'binary' ? [-1, 1] : [-1, 0, 1]).toContain(c);
          for (let c = 0; c < channels; c++) {
            const w = Array.from(x.subarray(c * inner, (c + 1) * inner));
            const mean = w.reduce((a, v) => a + Math.abs(v), 0) / inner;
            if (kind === 'binary') {
              expect(r.scales[c]).toBeCloseTo(mean, 5);
              w.forEach((v, i) => expect(r.codes[c * inner + i]).toBe(v < 0 ? -1 : 1));
            } else if (kind === 'ternary') {
              const above = w.filter((v) => Math.abs(v) > 0.7 * mean);
              const s = above.length ? above.reduce((a, v) => a + Math.abs(v), 0) / above.length : 0;
              expect(r.scales[c]).toBeCloseTo(s, 5);
              w.forEach((v, i) => expect(r.codes[c * inner + i]).toBe(Math.abs(v) > 0.7 * mean ? Math.sign(v) : 0));
            } else {
              expect(r.scales[c]).toBeCloseTo(mean, 5);
              w.forEach((v, i) => {
                const q = mean === 0 ? 0 : Math.max(-1, Math.min(1, Math.round(v / Math.fround(mean))));
                expect(r.codes[c * inner + i]).toBe(q === 0 ? 0 : q);
              });
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('BWN and TWN scales are least-squares optimal for their codes: no scale on a grid does better', () => {
    fc.assert(
      fc.property(weightArb, ({ shape, x }) => {
        const [channels, inner] = shape as [number, number];
        for (const r of [binaryCodes(x, shape, 0), twnCodes(x, shape, 0)]) {
          for (let c = 0; c < channels; c++) {
            const best = sse(x, r, c, r.scales[c]!, inner);
            for (let k = 0; k <= 40; k++) {
              const s = (k / 10) * (r.scales[c]! || 1);
              expect(best).toBeLessThanOrEqual(sse(x, r, c, s, inner) * (1 + 1e-6) + 1e-9);
            }
          }
        }
        // and BWN's codes are the best binary codes for its scale: sign(w) is nearest of +-a
        const b = binaryCodes(x, shape, 0);
        for (let i = 0; i < x.length; i++) {
          const a = b.scales[Math.floor(i / inner)]!;
          expect(Math.abs(x[i]! - b.codes[i]! * a)).toBeLessThanOrEqual(Math.abs(x[i]! + b.codes[i]! * a));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('BWN and TWN: quantizing the dequantized weights again changes nothing (idempotent)', () => {
    fc.assert(
      fc.property(weightArb, ({ shape, x }) => {
        for (const kind of ['binary', 'ternary'] as const) {
          const once = dequantizeCodes(ternaryCodes(kind, x, shape, 0), shape);
          const r2 = ternaryCodes(kind, once, shape, 0);
          const twice = dequantizeCodes(r2, shape);
          expect(Array.from(r2.codes)).toEqual(
            Array.from(ternaryCodes(kind, x, shape, 0).codes).map((c, i) => (once[i] === 0 ? (kind === 'binary' ? 1 : 0) : c)),
          );
          for (let i = 0; i < once.length; i++) expect(Math.abs(twice[i]! - once[i]!)).toBeLessThanOrEqual(Math.abs(once[i]!) * 1e-6);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('ttq: threshold 0.7 mean|w| per channel, w_p / w_n the means above / below it; a tensor in that form is kept exactly', () => {
    fc.assert(
      fc.property(weightArb, ({ shape, x }) => {
        const [channels, inner] = shape as [number, number];
        const r = ttqCodes(x, shape, 0);
        // in TTQ form already (per channel one positive and one negative value besides zeros): kept as it is
        const inForm = Array.from({ length: channels }, (_, c) => x.subarray(c * inner, (c + 1) * inner)).every(
          (row) => new Set(Array.from(row).filter((v) => v > 0)).size <= 1 && new Set(Array.from(row).filter((v) => v < 0)).size <= 1,
        );
        if (inForm) {
          expect(Array.from(dequantizeCodes(r, shape))).toEqual(Array.from(x, (v) => (v === 0 ? 0 : v)));
          return;
        }
        for (let c = 0; c < channels; c++) {
          const row = Array.from(x.subarray(c * inner, (c + 1) * inner));
          const d = TWN_THRESHOLD * Math.fround(row.reduce((a, v) => a + Math.abs(v), 0) / row.length);
          const above = row.filter((v) => v > d);
          const below = row.filter((v) => v < -d);
          const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0);
          // (a tensor that happens to be in TTQ form already keeps its values: the means equal them)
          expect(r.scales[c]).toBeCloseTo(mean(above), 5);
          expect(r.negScales![c]).toBeCloseTo(-mean(below), 5);
          row.forEach((v, i) => expect(r.codes[c * inner + i]).toBe(v > d ? 1 : v < -d ? -1 : 0));
        }
        const once = dequantizeCodes(r, shape);
        const again = ttqCodes(once, shape, 0);
        expect(Array.from(dequantizeCodes(again, shape))).toEqual(Array.from(once));
      }),
      { numRuns: 200 },
    );
    // trained scales kept as they are, though no mean of the raw weights would give them
    const t = Float32Array.of(0.3, -0.7, 0, 0.3, -0.7, 0.3);
    const r = ttqCodes(t, [1, 6], 0);
    expect([r.scales[0], r.negScales![0]]).toEqual([Math.fround(0.3), Math.fround(0.7)]);
    expect(Array.from(r.codes)).toEqual([1, -1, 0, 1, -1, 1]);
  });

  it('absmean is not idempotent where a channel has zeros: its scale shrinks with them', () => {
    const x = Float32Array.of(2, 0);
    const once = dequantizeCodes(absmeanCodes(x, [1, 2], 0), [1, 2]);
    expect(Array.from(once)).toEqual([1, 0]);
    expect(Array.from(dequantizeCodes(absmeanCodes(once, [1, 2], 0), [1, 2]))).toEqual([0.5, 0]);
  });

  it('per tensor without an axis; an all-zero channel has codes 0 (ternary) and scale 0', () => {
    const x = Float32Array.of(0, 0, 0, 1, -2, 3);
    expect(Array.from(twnCodes(x, [2, 3], 0).scales)).toEqual([0, 2.5]);
    expect(Array.from(twnCodes(x, [2, 3], 0).codes)).toEqual([0, 0, 0, 0, -1, 1]);
    expect(Array.from(absmeanCodes(x, [2, 3], 0).codes)).toEqual([0, 0, 0, 1, -1, 1]);
    expect(binaryCodes(x, [6]).scales.length).toBe(1);
    expect(() => twnCodes(Float32Array.of(1, Number.NaN), [2])).toThrow(/NaN/);
  });

  it('packing round-trips: binary 8 codes per byte, ternary 5 per byte in base 3', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1, max: 1 }), { maxLength: 70 }), (v) => {
        const trits = Int8Array.from(v);
        const p = packTrits(trits);
        expect(p.length).toBe(Math.ceil(trits.length / 5));
        for (const byte of p) expect(byte).toBeLessThanOrEqual(242);
        expect(Array.from(unpackTrits(p, trits.length))).toEqual(Array.from(trits));
        const bits = Int8Array.from(v.map((c) => (c === 0 ? 1 : c)));
        const q = packBits(bits);
        expect(q.length).toBe(Math.ceil(bits.length / 8));
        expect(Array.from(unpackBits(q, bits.length))).toEqual(Array.from(bits));
      }),
    );
    expect(Array.from(packTrits(Int8Array.of(1, 1, 1, 1, 1, -1)))).toEqual([242, 0]);
    expect(() => unpackTrits(Uint8Array.of(243), 1)).toThrow(/above/);
  });
});

function weights(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) ** 3);
}

/** Gemm [x: 5x37] * W[37x23] (transB 0, channel axis 1) then Conv with W2 [6,5,3,3] on a reshaped tensor. */
function model(opset: number, wg: Float32Array, wc: Float32Array) {
  const b = new GraphBuilder();
  b.input('x', 'float32', [5, 37]);
  b.input('img', 'float32', [1, 5, 7, 7]);
  const w = b.initializer('w', 'float32', [37, 23], wg);
  const c = b.initializer('c', 'float32', [23], weights(23, 9));
  b.node('Gemm', ['x', w, c], { outputs: ['y'] });
  const k = b.initializer('k', 'float32', [6, 5, 3, 3], wc);
  b.node('Conv', ['img', k], { outputs: ['z'], attrs: { pads: [1, 1, 1, 1] } });
  b.output('y', 'float32');
  b.output('z', 'float32');
  return makeModel(b.graph, { opset });
}

describe('binary and ternary ONNX storage', () => {
  const wg = weights(37 * 23, 1);
  const wc = weights(6 * 5 * 9, 2);
  const feeds = {
    x: new ort.Tensor('float32', weights(5 * 37, 3), [5, 37]),
    img: new ort.Tensor('float32', weights(5 * 49, 4), [1, 5, 7, 7]),
  };
  for (const kind of KINDS) {
    for (const opset of [9, 17]) {
      it(`${kind} (opset ${opset}): packed codes decoded by standard ops give exactly the reference weights in onnxruntime-node`, async () => {
        const src = model(opset, wg, wc);
        const r = await quantizeModel(src, kind, { minSize: 1 });
        const bytes = writeOnnx(r.model);
        const out = await runModel(bytes, feeds);
        // the float model with the reference's dequantized weights computes the same outputs, bit for bit
        const ref = model(
          Math.max(opset, 11),
          dequantizeCodes(ternaryCodes(kind, wg, [37, 23], 1), [37, 23]),
          dequantizeCodes(ternaryCodes(kind, wc, [6, 5, 3, 3], 0), [6, 5, 3, 3]),
        );
        const expected = await runModel(writeOnnx(ref), feeds);
        for (const name of ['y', 'z']) {
          const a = out[name]!;
          const e = expected[name]!;
          expect(a.length).toBe(e.length);
          let diff = 0;
          for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - e[i]!));
          expect(diff, `${kind} ${name}`).toBe(0);
        }
        // weight payload: packed codes + one float32 scale per channel (+ the decoder's few constant bytes)
        const done = r.tensors.filter((t) => t.action !== 'skipped');
        expect(done.map((t) => t.name).sort()).toEqual(['k', 'w']);
        const codesBytes = readOnnx(bytes).proto.graph!.initializer.filter((t) => /_codes/.test(t.name));
        const bitsPerWeight = (codesBytes.reduce((a, t) => a + t.rawData.byteLength, 0) * 8) / (wg.length + wc.length);
        expect(bitsPerWeight).toBeLessThanOrEqual(8 / codesPerByte(kind) + 0.02);
        if (opset < 11) expect(r.notes.join(' ')).toMatch(/opset raised from 9 to 11/);
      });
    }
  }

  it('every scheme has a table entry (the CLI help) with its bits', () => {
    expect(getScheme('binary').bits).toBe(1);
    expect(getScheme('ternary').bits).toBe(1.6);
    expect(getScheme('ternary-absmean').summary).toMatch(/BitNet/);
    expect(getScheme('ttq').summary).toMatch(/TTQ/);
  });

  it('a model with no weights to quantize: E_UNSUPPORTED', async () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', [2, 3]);
    b.node('Relu', ['x'], { outputs: ['y'] });
    b.output('y', 'float32');
    for (const kind of KINDS) {
      const e = await quantizeModel(makeModel(b.graph), kind, { file: 'relu.onnx' }).catch((err: unknown) => err);
      expect(isModelpressError(e) && e.code).toBe('E_UNSUPPORTED');
      expect(String((e as Error).message)).toMatch(/found nothing to quantize/);
    }
  });
});
