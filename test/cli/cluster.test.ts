import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { runInOrt, trainedZoo } from '../compress/helpers.js';
import { cli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'modelpress-cluster-cli-'));
const model = join(dir, 'lenet.onnx');
beforeAll(async () => writeFileSync(model, toBinary(ModelProtoSchema, await trainedZoo('lenet-300-100', 1, 3000))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('modelpress cluster', () => {
  it('--json clusters, fine-tunes the centroids and writes a Gather-form model onnxruntime runs', async () => {
    const out = join(dir, 'clustered.onnx');
    const r = await cli(
      'cluster',
      model,
      '-o',
      out,
      '--bits',
      '4',
      '--bits-fc',
      '3',
      '--data',
      'fashion-mnist',
      '--limit',
      '2000',
      '--test-limit',
      '500',
      '--finetune-epochs',
      '1',
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.schema).toBe('modelpress.cluster/1');
    expect(report).toMatchObject({
      command: 'cluster',
      bits: 4,
      bitsFc: 3,
      bitsConv: 4,
      finetuneEpochs: 1,
      trainExamples: 2000,
      testExamples: 500,
      output: out,
    });
    expect(report.layers.map((l: { name: string; bits: number; centroids: number }) => [l.name, l.bits, l.centroids])).toEqual([
      ['fc1.weight', 3, 8],
      ['fc2.weight', 3, 8],
      ['fc3.weight', 3, 8],
    ]);
    expect(report.accuracy.input).toBeGreaterThan(0.6);
    expect(report.accuracy.finetuned).toBeGreaterThan(0.6);
    expect(report.outputBytes).toBeLessThan(report.inputBytes / 3);
    const logits = await runInOrt(readFileSync(out), 4);
    expect(logits.length).toBe(40);
  });

  it('without --data it clusters only, and prints a table', async () => {
    const out = join(dir, 'plain.onnx');
    const r = await cli('cluster', model, '-o', out, '--bits', '2', '--init', 'kmeans++');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/fc1\.weight\s+fc\s+2 bits\s+4 centroids/);
    expect(r.out).toContain(`wrote ${out}`);
    expect((await runInOrt(readFileSync(out), 2)).length).toBe(20);
  });

  it('bad input: clear errors, nothing written', async () => {
    const before = readdirSync(dir).sort();
    const out = join(dir, 'bad.onnx');
    for (const argv of [
      ['--bits', '9'],
      ['--bits', '0'],
      ['--bits', '4', '--bits-conv', '12'],
      ['--bits', '4', '--init', 'median'],
      ['--bits', '4', '--data', 'cifar'],
    ]) {
      const r = await cli('cluster', model, '-o', out, ...argv);
      expect(r.code).not.toBe(0);
      expect(r.err.length).toBeGreaterThan(0);
    }
    const bits = await cli('cluster', model, '-o', out, '--bits', '9');
    expect(bits.err).toMatch(/--bits must be an integer in \[1, 8\], got "9"/);
    const same = await cli('cluster', model, '-o', model, '--bits', '4');
    expect(same.err).toMatch(/--output must differ/);
    const noData = await cli('cluster', model, '-o', out, '--bits', '4', '--finetune-epochs', '2');
    expect(noData.err).toMatch(/--finetune-epochs needs --data/);
    const missing = await cli('cluster', join(dir, 'nope.onnx'), '-o', out, '--bits', '4');
    expect(missing.code).toBe(1);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});
