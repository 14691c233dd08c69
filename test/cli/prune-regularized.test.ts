import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeOnnx } from '../../src/formats/onnx/write.js';
import { readOnnxFile } from '../../src/node/onnx-external.js';
import { selectPrunableWeights } from '../../src/prune/select.js';
import { buildZooModel } from '../../src/train/zoo/index.js';
import { cli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'modelpress-prune-reg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lenet = join(dir, 'lenet300.onnx');
const cnn = join(dir, 'cnn-bn.onnx');
writeFileSync(lenet, writeOnnx(buildZooModel('lenet-300-100', { seed: 1 })));
writeFileSync(cnn, writeOnnx(buildZooModel('cnn-bn', { seed: 1 })));
const small = ['--data', 'fashion-mnist', '--limit', '1200', '--val-size', '200', '--test-limit', '500'];

async function runs(path: string): Promise<void> {
  const s = await ort.InferenceSession.create(path);
  const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', new Float32Array(2 * 784), [2, 1, 28, 28]) });
  expect(out[s.outputNames[0]!]!.dims).toEqual([2, 10]);
}

describe('sparsity penalties on the command line', () => {
  it('train --l1 --json: the report counts the exact zeros the soft-threshold left, the file has them', async () => {
    const out = join(dir, 'l1.onnx');
    const r = await cli(
      'train',
      '--arch',
      'lenet-300-100',
      '--epochs',
      '1',
      ...small,
      '--optimizer',
      'sgd',
      '--lr',
      '0.05',
      '--l1',
      '0.02',
      '-o',
      out,
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.penalty).toEqual({ l1: 0.02, groupLasso: 0, slimming: 0 });
    expect(j.penalisedValues).toBe(784 * 300 + 300 * 100 + 100 * 10);
    expect(j.penalisedZeros / j.penalisedValues).toBeGreaterThan(0.2);
    const zeros = selectPrunableWeights(readOnnxFile(out).proto).weights.reduce((a, w) => a + w.values.filter((x) => x === 0).length, 0);
    expect(zeros).toBe(j.penalisedZeros);
    await runs(out);
  }, 120_000);

  it('prune --method l1: penalty epochs, then exactly --sparsity of each layer, held through fine-tuning', async () => {
    const out = join(dir, 'pruned-l1.onnx');
    const r = await cli(
      'prune',
      lenet,
      '--method',
      'l1',
      '--l1',
      '0.01',
      '--optimizer',
      'sgd',
      '--lr',
      '0.05',
      '--sparsity',
      '0.9',
      '--penalty-epochs',
      '1',
      '--finetune-epochs',
      '1',
      ...small,
      '-o',
      out,
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.method).toBe('l1');
    expect(j.penaltyPhase.epochs).toBe(1);
    expect(j.penaltyPhase.penalisedZeros).toBeGreaterThan(0);
    for (const l of j.layers) expect(l.sparsityAfter).toBeCloseTo(0.9, 3);
    for (const w of selectPrunableWeights(readOnnxFile(out).proto).weights) {
      const z = w.values.filter((x) => x === 0).length / w.values.length;
      expect(z).toBeGreaterThanOrEqual(0.9 - 1e-3);
    }
    await runs(out);
  }, 120_000);

  it('prune --method slimming: channels with the smallest BatchNorm scales are cut (a smaller dense model)', async () => {
    const out = join(dir, 'slim.onnx');
    const r = await cli(
      'prune',
      cnn,
      '--method',
      'slimming',
      '--slimming',
      '1',
      '--sparsity',
      '0.5',
      '--penalty-epochs',
      '1',
      ...small,
      '--limit',
      '400',
      '-o',
      out,
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.method).toBe('slimming');
    expect(j.norm).toBe('bn');
    expect(j.params.after).toBeLessThan(j.params.before * 0.6);
    for (const l of j.layers) expect(l.channelsAfter).toBe(l.channelsBefore - Math.round(l.channelsBefore * 0.5));
    await runs(out);
  }, 180_000);

  it('bad input: negative or NaN lambda, a penalty with nothing to act on (before any data is read), --method l1 without --l1; nothing written', async () => {
    const before = readdirSync(dir).length;
    const bad = join(dir, 'bad.onnx');
    const cases: [string[], string, RegExp][] = [
      [['train', '--arch', 'lenet-300-100', '--l1', '-1e-4'], 'E_ARG', /--l1 must be a number >= 0, got "-1e-4"/],
      [['train', '--arch', 'lenet-300-100', '--group-lasso', 'NaN'], 'E_ARG', /--group-lasso must be a number >= 0/],
      [['finetune', lenet, '--slimming', '-1'], 'E_ARG', /--slimming must be a number >= 0/],
      [['prune', lenet, '--sparsity', '0.5', '--l1', '-0.5'], 'E_ARG', /--l1 must be a number >= 0/],
      [['prune', lenet, '--method', 'l1', '--sparsity', '0.5', ...small], 'E_ARG', /give --l1 <lambda>/],
      [['prune', lenet, '--method', 'slimming', '--sparsity', '0.5', '--l1', '0.1', ...small], 'E_ARG', /give --slimming/],
      [['prune', lenet, '--sparsity', '0.5', '--l1', '0.1'], 'E_ARG', /give --data/],
      [['prune', lenet, '--method', 'l1', '--l1', '0.1', ...small], 'E_ARG', /needs --sparsity/],
      [['train', '--arch', 'lenet-300-100', '--epochs', '1', '--slimming', '0.1', ...small], 'E_GRAPH', /BatchNormalization/],
      [['finetune', lenet, '--slimming', '0.1', ...small], 'E_GRAPH', /BatchNormalization/],
      [
        ['prune', lenet, '--sparsity', '0.5', '--slimming', '0.1', ...small],
        'E_GRAPH',
        /lenet300\.onnx.*BatchNormalization|BatchNormalization.*lenet300\.onnx/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli(...args, '-o', bad);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.code, args.join(' ')).not.toBe(70);
      expect(r.err, args.join(' ')).toContain(code);
      expect(r.err, args.join(' ')).toMatch(message);
    }
    expect(existsSync(bad)).toBe(false);
    expect(readdirSync(dir).length).toBe(before);
  }, 120_000);
});
