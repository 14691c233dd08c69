import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist } from '../../src/node/datasets.js';
import type { CompareRecord } from '../../src/report/record.js';
import { classMeanFixture, type ClassMeanFixture } from '../eval/helpers.js';
import { cli } from './cli.js';

let fx: ClassMeanFixture;
beforeAll(() => {
  fx = classMeanFixture();
});

describe('compare', () => {
  it('reports a known perturbation exactly: a bias raised by 0.5 on class 0', async () => {
    const limit = 1000;
    const r = await cli(
      'compare',
      fx.model,
      fx.biasOnly,
      fx.perturbed,
      '--data',
      'fashion-mnist',
      '--limit',
      String(limit),
      '--no-latency',
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const rec = JSON.parse(r.out) as CompareRecord;
    expect(rec.schema).toBe('modelpress.compare/2');
    expect(rec.models.map((m) => m.model)).toEqual([fx.model, fx.biasOnly, fx.perturbed]);
    const [ref, biasOnly, noisy] = rec.models as [CompareRecord['models'][0], CompareRecord['models'][0], CompareRecord['models'][0]];
    expect(ref.fidelity).toBeNull();
    expect(ref.compressionRatio).toBe(1);
    // Every sample's class-0 logit moves by exactly 0.5, the other nine not at all.
    const f = biasOnly.fidelity!;
    expect(f.maxAbsError).toBeCloseTo(fx.biasShift, 4);
    expect(f.meanAbsError).toBeCloseTo(fx.biasShift / 10, 4);
    // SNR from the reference logits computed directly with onnxruntime.
    const test = loadFashionMnist({ split: 'test' });
    const session = await ort.InferenceSession.create(fx.model);
    const x = Float32Array.from(test.images.subarray(0, limit * 784), (v) => v / 255);
    const logits = (await session.run({ image: new ort.Tensor('float32', x, [limit, 28, 28]) })).logits!.data as Float32Array;
    await session.release();
    const energy = logits.reduce((a, v) => a + v * v, 0);
    expect(f.snrDb as number).toBeCloseTo(10 * Math.log10(energy / (limit * fx.biasShift ** 2)), 2);
    expect(f.cosine).toBeLessThan(1);
    expect(f.cosine).toBeGreaterThan(0.999);
    expect(f.identical).toBe(false);
    expect(f.top1Agreement).toBeGreaterThan(0.9);
    expect(f.top1Agreement).toBeLessThan(1);
    // The noisy copy differs more than the bias-only copy.
    expect(noisy.fidelity!.meanAbsError).toBeGreaterThan(f.meanAbsError);
    expect(noisy.fidelity!.snrDb as number).toBeLessThan(f.snrDb as number);
    expect(noisy.compressionRatio).toBeCloseTo(ref.sizeBytes / noisy.sizeBytes, 12);
  });

  it('prints a table with one row per model and writes an HTML report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-compare-'));
    const r = await cli(
      'compare',
      fx.model,
      fx.perturbed,
      '--data',
      'fashion-mnist',
      '--limit',
      '300',
      '--runs',
      '2',
      '--report',
      join(dir, 'c.html'),
    );
    expect(r.code).toBe(0);
    const rows = r.out.split('\n').filter((l) => l.startsWith(fx.dir));
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(r.out).toMatch(/class-mean-perturbed\.onnx\s+31\.\d KiB\s+7,850\s+1\.00x/);
    const html = readFileSync(join(dir, 'c.html'), 'utf8');
    expect(html).toContain('id="cm-1"');
    expect(html).not.toMatch(/<script src=/);
  });

  it('evaluates an .mpz container: same outputs, ratio from the packed size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-compare-mpz-'));
    const mpz = join(dir, 'class-mean.mpz');
    expect((await cli('pack', fx.model, '-o', mpz)).code).toBe(0);
    const r = await cli('compare', fx.model, mpz, '--data', 'fashion-mnist', '--limit', '300', '--no-latency', '--json');
    expect(r.code).toBe(0);
    const [ref, packed] = (JSON.parse(r.out) as CompareRecord).models;
    expect(packed!.sizeBytes).toBe(statSync(mpz).size);
    expect(packed!.compressionRatio).toBeCloseTo(ref!.sizeBytes / packed!.sizeBytes, 12);
    expect(packed!.compressionRatio!).toBeGreaterThan(1);
    expect(packed!.params).toBe(ref!.params);
    expect(packed!.fidelity).toMatchObject({ identical: true, snrDb: 'inf', cosine: 1 });
    expect(packed!.accuracy).toBe(ref!.accuracy);
  });

  it('fails clearly when a compared model is missing', async () => {
    const r = await cli('compare', fx.model, '/nonexistent/x.onnx', '--limit', '2', '--dim', 'batch=1');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\[E_NOT_FOUND\].*\/nonexistent\/x\.onnx/);
  });
});

describe('compare energy', () => {
  it('every model gets an energy estimate; the table lists each', async () => {
    const r = await cli('compare', fx.model, fx.perturbed, '--data', 'fashion-mnist', '--limit', '20', '--no-latency', '--json');
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out) as CompareRecord;
    const [a, b] = json.models.map((m) => m.energy!);
    expect(a!.macs).toBe(b!.macs);
    expect(a!.totalUJ).toBeGreaterThan(0);
    const text = await cli('compare', fx.model, fx.perturbed, '--data', 'fashion-mnist', '--limit', '20', '--no-latency');
    expect(text.out).toContain('energy per inference');
    expect(text.out).toContain(`${fx.perturbed}  dense`);
  });
});
