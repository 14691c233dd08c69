/**
 * Quantized outputs are standard models for onnxruntime-web too: each
 * scheme's output of a real fixture loads in onnxruntime-web's wasm backend
 * (in Node) and computes what onnxruntime-node computes.
 */
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { readOnnx, writeOnnx } from '../../src/formats/onnx/index.js';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import { quantizeModel } from '../../src/quantize/index.js';
import { cosine, FIXTURES, fixtureBytes } from '../../support/quantize-fixtures.js';

const CASES: [fixture: string, scheme: string, opts: object][] = [
  ['cls', 'int8', { perChannel: true, symmetric: true }],
  ['cls', 'uint8', {}],
  ['cls', 'fp16-weights', {}],
  ['cls', 'kmeans:6', {}],
  ['cls', 'int4', {}],
  ['rec', 'int4', {}],
  ['rec', 'q4f16', {}],
  ['cls', 'dynamic', {}],
  ['cls', 'fp16', {}],
  ['silero_vad', 'int8', {}],
  ['cls', 'static', { calibMethod: 'mse' }],
  // packed binary/ternary codes: their decoders (BitShift; Div/Mod; Where) run in the wasm backend too
  ['cls', 'binary', { minSize: 1 }],
  ['cls', 'ternary', { minSize: 1 }],
  ['cls', 'ternary-absmean', { minSize: 1 }],
  ['cls', 'ttq', { minSize: 1 }],
];

/** Four seeded inputs of the fixture as calibration batches. */
function calibration(name: string): object {
  const f = Object.values(FIXTURES).find((x) => x.name === name)!;
  return {
    calibration: [10, 11, 12, 13].map((s) =>
      Object.fromEntries(Object.entries(f.feeds(s)).map(([k, t]) => [k, { dtype: t.type, shape: t.dims, data: t.data }])),
    ),
  };
}

beforeAll(() => {
  ortWeb.env.wasm.numThreads = 1;
});

describe('quantized models run in onnxruntime-web (wasm)', () => {
  for (const [name, scheme, opts] of CASES) {
    it(`${name} ${scheme}`, async () => {
      const f = Object.values(FIXTURES).find((x) => x.name === name)!;
      const proto = readOnnx(fixtureBytes(f)).proto;
      const calib = scheme === 'static' ? calibration(name) : {};
      const bytes = writeOnnx((await quantizeModel(proto, scheme, { ...opts, ...calib, openRunner: createNodeRunner })).model);
      const feeds = f.feeds();
      const node = await ortNode.InferenceSession.create(bytes);
      const web = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
      try {
        const webFeeds: Record<string, ortWeb.Tensor> = {};
        for (const [k, t] of Object.entries(feeds)) webFeeds[k] = new ortWeb.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
        const rn = await node.run(feeds);
        const rw = await web.run(webFeeds);
        const key = Object.keys(rn)[0]!;
        const a = Float32Array.from(rn[key]!.data as Float32Array);
        const b = Float32Array.from(rw[key]!.data as Float32Array);
        expect(b.length).toBe(a.length);
        expect(a.every(Number.isFinite)).toBe(true);
        expect(cosine(a, b)).toBeGreaterThan(0.999);
      } finally {
        await web.release();
        await node.release();
      }
    });
  }
});
