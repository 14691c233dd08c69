/**
 * Binary/ternary outputs are standard models for onnxruntime-web too: the
 * packed codes' decoders (BitShift; Div/Mod) run in its wasm backend (in Node)
 * and a real fixture computes there what it computes in onnxruntime-node.
 */
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { readOnnx, writeOnnx } from '../../src/formats/onnx/index.js';
import { quantizeModel } from '../../src/quantize/index.js';
import { cosine, FIXTURES, fixtureBytes } from '../../support/quantize-fixtures.js';

beforeAll(() => {
  ortWeb.env.wasm.numThreads = 1;
});

describe('binary/ternary models run in onnxruntime-web (wasm)', () => {
  for (const scheme of ['binary', 'ternary', 'ternary-absmean']) {
    it(`cls ${scheme}`, async () => {
      const f = FIXTURES.cls;
      const bytes = writeOnnx((await quantizeModel(readOnnx(fixtureBytes(f)).proto, scheme, { minSize: 1 })).model);
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
