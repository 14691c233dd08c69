import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { classMeanLogits } from '../../src/eval/class-mean.js';
import { loadFashionMnist } from '../../src/node/datasets.js';
import type { EvalRecord } from '../../src/report/record.js';
import { classMeanFixture, OCR, VAD, type ClassMeanFixture } from '../eval/helpers.js';
import { cli } from './cli.js';

async function evalJson(...argv: string[]): Promise<EvalRecord> {
  const r = await cli('eval', ...argv, '--json');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).not.toMatch(/NaN/);
  return JSON.parse(r.out) as EvalRecord;
}

let fx: ClassMeanFixture;
const test = loadFashionMnist({ split: 'test' });
beforeAll(() => {
  fx = classMeanFixture();
});

describe('eval on Fashion-MNIST with the nearest-class-mean model', () => {
  it('reports the accuracy and F1 a second, simple path computes from the same logits', async () => {
    const rec = await evalJson(fx.model, '--data', 'fashion-mnist', '--batch-size', '100', '--runs', '3');
    // Second path: onnxruntime-node called directly, the whole test set in one run, argmax by hand.
    const session = await ort.InferenceSession.create(fx.model);
    const x = Float32Array.from(test.images, (v) => v / 255);
    const out = await session.run({ image: new ort.Tensor('float32', x, [test.count, 28, 28]) });
    const logits = out.logits!.data as Float32Array;
    await session.release();
    let correct = 0;
    const tp = new Array(10).fill(0),
      predicted = new Array(10).fill(0),
      support = new Array(10).fill(0);
    for (let i = 0; i < test.count; i++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (logits[i * 10 + c]! > logits[i * 10 + best]!) best = c;
      const label = test.labels[i]!;
      if (best === label) {
        correct++;
        tp[label]++;
      }
      predicted[best]++;
      support[label]++;
    }
    expect(rec.accuracy).toBe(correct / test.count);
    let f1Sum = 0;
    for (let c = 0; c < 10; c++) {
      const p = tp[c] / predicted[c],
        r = tp[c] / support[c];
      f1Sum += (2 * p * r) / (p + r);
    }
    expect(rec.f1Macro).toBeCloseTo(f1Sum / 10, 12);
    // Nearest class mean on Fashion-MNIST lands near 68%.
    expect(rec.accuracy).toBeGreaterThan(0.67);
    expect(rec.accuracy).toBeLessThan(0.69);
    // A third path with no onnxruntime at all (float rounding may flip a near-tie or two).
    const js = classMeanLogits(fx.means, x);
    let jsCorrect = 0;
    for (let i = 0; i < test.count; i++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (js[i * 10 + c]! > js[i * 10 + best]!) best = c;
      if (best === test.labels[i]) jsCorrect++;
    }
    expect(Math.abs(jsCorrect - correct)).toBeLessThanOrEqual(2);
    // The rest of the record.
    expect(rec.schema).toBe('modelpress.eval/2');
    expect(rec.sizeBytes).toBe(statSync(fx.model).size);
    expect(rec.params).toBe(7850); // 10x784 weights + 10 biases
    expect(rec.data).toMatchObject({ source: 'fashion-mnist:test', samples: 10000, labeled: true, batchSize: 100 });
    expect(rec.perClass!.map((c) => c.support)).toEqual(new Array(10).fill(1000));
    expect(rec.confusionMatrix!.flat().reduce((a, b) => a + b, 0)).toBe(10000);
    expect(rec.latencyMs!.p50).toBeGreaterThan(0);
    expect(rec.latencyBatchMs!.batchSize).toBe(100);
    expect(rec.peakRssBytes!).toBeGreaterThan(10 * 1024 * 1024);
    expect(rec.compressionRatio).toBeNull();
    expect(rec.fidelity).toBeNull();
  });

  it('compares the model with itself: cosine 1, agreement 1, SNR "inf" (never NaN)', async () => {
    const rec = await evalJson(fx.model, '--data', 'fashion-mnist', '--limit', '500', '--ref', fx.model, '--no-latency');
    expect(rec.fidelity).toMatchObject({ cosine: 1, top1Agreement: 1, snrDb: 'inf', maxAbsError: 0, meanAbsError: 0, identical: true });
    expect(rec.compressionRatio).toBe(1);
    expect(rec.latencyMs).toBeNull();
    const text = await cli('eval', fx.model, '--data', 'fashion-mnist', '--limit', '500', '--ref', fx.model, '--no-latency');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/1\.000000\s+inf\s+100\.00%/);
    expect(text.out).not.toMatch(/NaN/);
  });

  it('writes Markdown, JSON and HTML reports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-eval-report-'));
    const r = await cli('eval', fx.model, '--data', 'fashion-mnist', '--limit', '200', '--runs', '2', '--report', join(dir, 'r.md'));
    expect(r.code).toBe(0);
    const md = readFileSync(join(dir, 'r.md'), 'utf8');
    expect(md).toMatch(/^# modelpress eval/);
    expect(md).toContain('| model | size | params |');
    expect(md).toContain('## F1 per class');
    expect(
      (await cli('eval', fx.model, '--data', 'fashion-mnist', '--limit', '200', '--no-latency', '--report', join(dir, 'r.json'))).code,
    ).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')).data.samples).toBe(200);
    expect(
      (await cli('eval', fx.model, '--data', 'fashion-mnist', '--limit', '200', '--no-latency', '--report', join(dir, 'r.html'))).code,
    ).toBe(0);
    expect(readFileSync(join(dir, 'r.html'), 'utf8')).toContain('<canvas id="pareto">');
    expect((await cli('eval', fx.model, '--data', 'fashion-mnist', '--limit', '10', '--report', join(dir, 'r.pdf'))).code).toBe(2);
  });
});

describe('eval on the real fixtures with random inputs', () => {
  const cases: [string, string[], number[]][] = [
    [`${OCR}/ch_PP-OCRv4_det_infer.onnx`, ['--shape', 'x=1,3,64,64'], [1, 3, 64, 64]],
    [`${OCR}/ch_PP-OCRv4_rec_infer.onnx`, ['--shape', 'x=1,3,48,96'], [1, 3, 48, 96]],
    [
      `${OCR}/ch_ppocr_mobile_v2.0_cls_infer.onnx`,
      ['--dim', 'p2o.DynamicDimension.0=1', '--dim', 'p2o.DynamicDimension.1=48', '--dim', 'p2o.DynamicDimension.2=192'],
      [1, 3, 48, 192],
    ],
  ];
  for (const [model, flags, shape] of cases) {
    it(`runs ${model.split('/').pop()} at ${shape.join('x')}`, async () => {
      const rec = await evalJson(model, ...flags, '--limit', '2', '--warmup', '1', '--runs', '2', '--ref', model);
      expect(rec.data).toMatchObject({ source: 'random', samples: 2, labeled: false, batchSize: 1 });
      expect(rec.data.inputs).toEqual([{ name: 'x', dtype: 'float32', shape }]);
      expect(rec.sizeBytes).toBe(statSync(model).size);
      expect(rec.params).toBeGreaterThan(100000);
      expect(rec.latencyMs!.runs).toBe(2);
      expect(rec.fidelity!.snrDb).toBe('inf');
      expect(rec.accuracy).toBeNull();
    }, 60000);
  }

  it('runs silero_vad with int64 sr and carried h/c state (random and fixed sr)', async () => {
    const rec = await evalJson(VAD, '--dim', 'batch=1', '--dim', 'sequence=512', '--limit', '4', '--runs', '2', '--ref', VAD);
    expect(rec.data.inputs.map((i) => [i.name, i.dtype, i.shape])).toEqual([
      ['input', 'float32', [1, 512]],
      ['sr', 'int64', []],
      ['h', 'float32', [2, 1, 64]],
      ['c', 'float32', [2, 1, 64]],
    ]);
    expect(rec.fidelity!.outputs.map((o) => o.output)).toEqual(['output', 'hn', 'cn']);
    expect(rec.fidelity!.outputs.every((o) => o.snrDb === 'inf' && o.cosine === 1)).toBe(true);
    const fixed = await evalJson(VAD, '--dim', 'batch=1', '--dim', 'sequence=512', '--fill', 'sr=16000', '--limit', '3', '--no-latency');
    expect(fixed.data.samples).toBe(3);
    expect(fixed.params).toBe(445117); // as inspect counts: initializers + Constant nodes, subgraphs included
  }, 60000);
});

describe('eval errors', () => {
  it('a missing or corrupt model: clear error, non-zero exit', async () => {
    const missing = await cli('eval', '/nonexistent/model.onnx');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/\[E_NOT_FOUND\].*\/nonexistent\/model\.onnx/);
    const dir = mkdtempSync(join(tmpdir(), 'mp-eval-bad-'));
    writeFileSync(join(dir, 'bad.onnx'), fx.bytes.subarray(0, 1000));
    const corrupt = await cli('eval', join(dir, 'bad.onnx'));
    expect(corrupt.code).toBe(1);
    expect(corrupt.err).toMatch(/\[E_TRUNCATED\].*bad\.onnx/);
    writeFileSync(join(dir, 'junk.onnx'), new TextEncoder().encode('hello, I am not an onnx model'));
    const junk = await cli('eval', join(dir, 'junk.onnx'));
    expect(junk.code).toBe(1);
    expect(junk.err).toMatch(/\[E_(FORMAT|TRUNCATED|CORRUPT)\].*junk\.onnx/);
  });

  it('a dataset that cannot fit the model input names both shapes', async () => {
    const r = await cli('eval', `${OCR}/ch_ppocr_mobile_v2.0_cls_infer.onnx`, '--data', 'fashion-mnist', '--limit', '10');
    expect(r.code).toBe(1);
    expect(r.err).toContain('[E_SHAPE]');
    expect(r.err).toContain('[28, 28]');
    expect(r.err).toContain("model input 'x' [p2o.DynamicDimension.0, 3, p2o.DynamicDimension.1, p2o.DynamicDimension.2]");
  });

  it('a missing dataset names the paths searched and how to get it; unbound dims of random inputs are 1, with a note', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'mp-eval-nodata-'));
    const r = await cli('eval', fx.model, '--data', 'fashion-mnist', '--data-dir', empty);
    expect(r.code).toBe(1);
    expect(r.err).toContain('[E_NOT_FOUND]');
    expect(r.err).toContain(join(empty, 't10k-images-idx3-ubyte.gz'));
    expect(r.err).toContain('apt-get install dataset-fashion-mnist');
    // silero's [batch, sequence] input at 1x1 is too short for its reflect padding: the note says which dims were guessed
    const dims = await cli('eval', VAD);
    expect(dims.err).toContain(
      "note: symbolic dim 'batch' of input 'input' set to 1 for random inputs (give --dim batch=<n> to change it)",
    );
    expect(dims.err).toContain("symbolic dim 'sequence' of input 'input' set to 1");
    expect(dims.code).toBe(1);
    expect(dims.err).toContain('[E_SHAPE]');
    const bound = await cli('eval', VAD, '--dim', 'batch=1,sequence=512', '--limit', '2', '--json');
    expect(bound.code, bound.err).toBe(0);
    expect(bound.err).not.toContain('note: symbolic dim');
  });
});

describe('eval energy per inference', () => {
  it('prints the estimate split into compute and memory, with the per-layer breakdown in --json', async () => {
    const rec = await evalJson(fx.model, '--data', 'fashion-mnist', '--limit', '20', '--no-latency');
    const e = rec.energy!;
    expect(e.table).toMatch(/Horowitz/);
    expect(e.macs).toBeGreaterThan(0);
    expect(e.totalUJ).toBeCloseTo(e.computeUJ + e.memoryUJ, 9);
    expect(e.layers.length).toBeGreaterThan(0);
    expect(e.layers.reduce((a, l) => a + l.computeUJ + l.memoryUJ, 0)).toBeCloseTo(e.totalUJ, 9);
    expect(e.notCounted).toEqual([]);
    const text = await cli('eval', fx.model, '--data', 'fashion-mnist', '--limit', '20', '--no-latency');
    expect(text.out).toMatch(/energy per inference \(estimate, Horowitz 45 nm/);
    expect(text.out).toContain(`${fx.model}  dense`);
    const off = await evalJson(fx.model, '--data', 'fashion-mnist', '--limit', '20', '--no-latency', '--no-energy');
    expect(off.energy).toBeUndefined();
  });

  it('--energy-table and --energy-memory replace the figures: DRAM-only memory at 1 pJ per access', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-eval-energy-'));
    const table = join(dir, 'cheap.json');
    writeFileSync(table, JSON.stringify({ name: 'cheap', compute: { float32: { mul: 1, add: 1 }, int32: { mul: 1, add: 1 } } }));
    const base = (await evalJson(fx.model, '--data', 'fashion-mnist', '--limit', '20', '--no-latency')).energy!;
    const rec = await evalJson(
      fx.model,
      '--data',
      'fashion-mnist',
      '--limit',
      '20',
      '--no-latency',
      '--energy-table',
      table,
      '--energy-memory',
      '1=1,dram=1',
    );
    const e = rec.energy!;
    expect(e.table).toBe('cheap');
    expect(e.macs).toBe(base.macs);
    // the nearest-class-mean model's arithmetic at 1 pJ per op: compute in pJ counts its ops
    const ops = e.layers.reduce((a, l) => a + 2 * l.ops.mac + l.ops.mul + l.ops.add + l.ops.cmp + 10 * l.ops.transcendental, 0);
    expect(e.computeUJ * 1e6).toBeCloseTo(ops, 3);
    // every access at 1 pJ: memory in pJ is the 64-bit words moved, each tensor rounded up to whole words
    const words = (e.weightBytes + e.activationBytes) / 8;
    expect(e.memoryUJ * 1e6).toBeGreaterThanOrEqual(words);
    expect(e.memoryUJ * 1e6).toBeLessThan(words + 8 * e.layers.length);
  });

  it('a table missing a type the model needs: E_ARG naming the file and the type, no report written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-eval-energy-bad-'));
    const table = join(dir, 'int8-only.json');
    writeFileSync(table, JSON.stringify({ compute: { int8: { mul: 0.2, add: 0.03 }, int32: { mul: 3.1, add: 0.1 } } }));
    const report = join(dir, 'r.html');
    const r = await cli('eval', fx.model, '--data', 'fashion-mnist', '--limit', '20', '--energy-table', table, '--report', report);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\[E_ARG\].*int8-only\.json.*float32/);
    expect(() => statSync(report)).toThrow();
    writeFileSync(table, '{"compute": ');
    const bad = await cli('eval', fx.model, '--energy-table', table);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/\[E_FORMAT\].*int8-only\.json/);
    const spec = await cli('eval', fx.model, '--energy-memory', '8K');
    expect(spec.code).toBe(2);
    expect(spec.err).toContain('--energy-memory');
  });
});
