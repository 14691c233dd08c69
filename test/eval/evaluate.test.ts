import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { fromFloat32, makeTensor, toFloat32, type Tensor } from '../../src/core/tensor.js';
import { classMeanLogits } from '../../src/eval/class-mean.js';
import { limitSamples } from '../../src/data/dataset.js';
import { datasetFromImages } from '../../src/eval/datasets/dataset.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { datasetSource, randomSource, type FeedSource } from '../../src/eval/feeds.js';
import { loadFashionMnist } from '../../src/node/datasets.js';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import { classMeanFixture, VAD } from './helpers.js';

describe('evaluate()', () => {
  it('the class-mean ONNX model computes the class-mean logits', async () => {
    const fx = classMeanFixture();
    const test = loadFashionMnist({ split: 'test' });
    const runner = await createNodeRunner(fx.bytes);
    const x = Float32Array.from(test.images.subarray(0, 100 * 784), (v) => v / 255);
    const out = await runner.run({ image: fromFloat32(x, 'float32', [100, 28, 28]) });
    const onnx = toFloat32(out.logits!);
    const js = classMeanLogits(fx.means, x);
    for (let i = 0; i < js.length; i++) expect(onnx[i]).toBeCloseTo(js[i]!, 3);
    await runner.dispose();
  });

  it('gives the same predictions and metrics at every batch size', async () => {
    const fx = classMeanFixture();
    const runner = await createNodeRunner(fx.bytes);
    const ds = limitSamples(datasetFromImages(loadFashionMnist({ split: 'test' }), 'fashion-mnist:test'), 999);
    const results = [];
    for (const batchSize of [1, 7, 64, 999]) {
      results.push(await evaluate(runner, datasetSource(ds, runner.inputs), { batchSize, latency: false }));
    }
    expect(results.map((r) => r.runs)).toEqual([999, 143, 16, 1]);
    for (const r of results.slice(1)) {
      expect(r.classification!.predictions).toEqual(results[0]!.classification!.predictions);
      expect(r.classification!.report).toEqual(results[0]!.classification!.report);
    }
    expect(results[0]!.samples).toBe(999);
    await runner.dispose();
  });

  it('carries silero_vad state (h→hn, c→cn) across runs, like a manual chain', async () => {
    const runner = await createNodeRunner(VAD);
    const source = randomSource(runner.inputs, 3, {
      dims: { batch: 1, sequence: 512 },
      fill: { sr: 16000 },
      state: [
        { input: 'h', output: 'hn' },
        { input: 'c', output: 'cn' },
      ],
      seed: 5,
    });
    // Record what evaluate feeds by wrapping the runner.
    const fed: Record<string, Tensor>[] = [];
    const spy = {
      ...runner,
      inputs: runner.inputs,
      outputs: runner.outputs,
      run: (f: Record<string, Tensor>) => {
        fed.push(f);
        return runner.run(f);
      },
    };
    await evaluate(spy, source, { latency: false });
    // fed[0] is the untimed warm-up; the pass starts at fed[1].
    let h = source.feeds(0, 1).h!;
    expect(toFloat32(h).every((v) => v === 0)).toBe(true);
    let c = source.feeds(0, 1).c!;
    for (let i = 0; i < 3; i++) {
      expect(toFloat32(fed[i + 1]!.h!)).toEqual(toFloat32(h));
      const out = await runner.run({ ...source.feeds(i, i + 1), h, c });
      h = out.hn!;
      c = out.cn!;
    }
    await runner.dispose();
  });

  it('rejects labels beyond the model classes with E_SHAPE', async () => {
    const fx = classMeanFixture();
    const runner = await createNodeRunner(fx.bytes);
    const source: FeedSource = {
      ...datasetSource({ x: makeTensor('uint8', [1, 28, 28], new Uint8Array(784)), y: Int32Array.of(12), name: 't' }, runner.inputs),
    };
    await expect(evaluate(runner, source, { latency: false })).rejects.toMatchObject({
      code: 'E_SHAPE',
      message: expect.stringContaining('label 12'),
    });
    await runner.dispose();
  });
});

describe('browser safety', () => {
  it('src/eval, src/report and src/runtime bundle for the browser without Node built-ins', async () => {
    const result = await build({
      stdin: {
        contents: [
          "export * from './src/eval/evaluate.js';",
          "export * from './src/eval/feeds.js';",
          "export * from './src/eval/datasets/npz.js';",
          "export * from './src/eval/datasets/idx.js';",
          "export * from './src/eval/class-mean.js';",
          "export * from './src/eval/model-info.js';",
          "export * from './src/eval/splits.js';",
          "export * from './src/report/html.js';",
          "export * from './src/report/markdown.js';",
          "export * from './src/runtime/ort-web.js';",
        ].join('\n'),
        resolveDir: process.cwd(),
        loader: 'ts',
      },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      external: ['onnxruntime-web'],
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const text = result.outputFiles[0]!.text;
    expect(text).not.toMatch(/from ["']node:/);
  }, 30000);
});
