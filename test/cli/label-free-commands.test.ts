/**
 * Every training command on a small non-zoo model with its own inputs:
 * without labels each one distils from the original (prune, qat, cluster),
 * the teacher (distill, finetune --teacher), reports output SNR and cosine
 * against it on the held-back split before and after training, and
 * --min-snr refuses with E_FIDELITY, exit 1, nothing written. Without data
 * the figure comes from seeded random inputs and says so.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTensor } from '../../src/core/tensor.js';
import { encodeNpy } from '../../src/eval/datasets/npy.js';
import { writeOnnx } from '../../src/formats/onnx/write.js';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { storedNpz } from '../eval/helpers.js';
import { randomValues, runModel } from '../prune/helpers.js';
import { cli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-label-free-cmds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const N = 600;
const model = join(dir, 'small.onnx');
const unlabelled = join(dir, 'inputs.npz');
const labelled = join(dir, 'labelled.npz');

/** x [N, 2, 6, 6] -> Conv 8 3x3 -> LeakyRelu -> Conv 8 3x3 -> Relu -> Flatten -> Gemm 10: an embedding or logits. */
function smallModel() {
  const g = new GraphBuilder();
  g.input('x', 'float32', ['N', 2, 6, 6]);
  const w1 = g.initializer('w1', 'float32', [8, 2, 3, 3], randomValues(144, 1, -0.5, 0.5));
  const b1 = g.initializer('b1', 'float32', [8], randomValues(8, 2, -0.1, 0.1));
  const w2 = g.initializer('w2', 'float32', [8, 8, 3, 3], randomValues(576, 3, -0.25, 0.25));
  const b2 = g.initializer('b2', 'float32', [8], randomValues(8, 4, -0.1, 0.1));
  const w3 = g.initializer('w3', 'float32', [10, 288], randomValues(2880, 5, -0.1, 0.1));
  const b3 = g.initializer('b3', 'float32', [10], randomValues(10, 6, -0.1, 0.1));
  const c1 = g.op('Conv', ['x', w1, b1], { pads: [1, 1, 1, 1] }, 'conv1');
  const a1 = g.op('LeakyRelu', [c1], { alpha: { float: 0.2 } }, 'act1');
  const c2 = g.op('Conv', [a1, w2, b2], { pads: [1, 1, 1, 1] }, 'conv2');
  const a2 = g.op('Relu', [c2], undefined, 'act2');
  const f = g.op('Flatten', [a2], { axis: 1 }, 'flatten');
  g.node('Gemm', [f, w3, b3], { attrs: { transB: 1 }, outputs: ['y'], name: 'fc' });
  g.output('y', 'float32', ['N', 10]);
  return makeModel(g.graph);
}

beforeAll(async () => {
  const m = smallModel();
  writeFileSync(model, writeOnnx(m));
  const x = randomValues(N * 72, 7, -1, 1);
  const xt = makeTensor('float32', [N, 2, 6, 6], new Uint8Array(x.buffer));
  writeFileSync(unlabelled, storedNpz({ x: encodeNpy(xt) }));
  // labels: the model's own arg-max, so the original scores 100%
  const logits = await runModel(m, x, [N, 2, 6, 6]);
  const y = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (logits[i * 10 + c]! > logits[i * 10 + best]!) best = c;
    y[i] = best;
  }
  writeFileSync(labelled, storedNpz({ x: encodeNpy(xt), y: encodeNpy(makeTensor('int32', [N], new Uint8Array(y.buffer))) }));
});

const train = ['--batch-size', '16', '--seed', '3'];

function expectRefused(r: { code: number; err: string }, out: string): void {
  expect(r.code, r.err).toBe(1);
  expect(r.err).toContain('E_FIDELITY');
  expect(r.err).toContain('nothing written');
  expect(existsSync(out)).toBe(false);
}

describe('label-free training commands with fidelity guards', () => {
  it('prune --reconstruct + fine-tuning on unlabelled data: held-back SNR far above pruning alone; --min-snr refuses', async () => {
    const out = join(dir, 'pruned.onnx');
    const args = ['prune', model, '--sparsity', '0.5', '--data', unlabelled, '--reconstruct', '--finetune-epochs', '2', ...train];
    const r = await cli(...args, '-o', out, '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.labels).toBe(false);
    expect(j.fidelity.inputs).toBe(unlabelled);
    expect(j.fidelity.samples).toBe(120);
    expect(j.fidelity.reconstructed.snrDb).toBeGreaterThan(j.fidelity.beforeTraining.snrDb + 3);
    expect(j.fidelity.snrDb).toBeGreaterThan(j.fidelity.beforeTraining.snrDb + 3);
    expect(j.reconstruction.layers.map((l: { name: string }) => l.name)).toEqual(['w1', 'w2', 'w3']);
    // the refit minimises (with a ridge) over every row; the reported errors sample 64 rows per batch, so compare totals
    const total = (k: 'errorBefore' | 'errorAfter') =>
      j.reconstruction.layers.reduce((a: number, l: Record<string, number>) => a + l[k]!, 0);
    expect(total('errorAfter')).toBeLessThan(total('errorBefore'));
    expect(j.prunedSparsity).toBeCloseTo(0.5, 2);
    const refused = join(dir, 'pruned-refused.onnx');
    expectRefused(await cli(...args, '--min-snr', String(j.fidelity.snrDb + 1), '-o', refused), refused);
  });

  it('prune without --data: fidelity on seeded random inputs, said loudly; --min-snr refuses on it', async () => {
    const out = join(dir, 'random.onnx');
    const r = await cli('prune', model, '--sparsity', '0.6', '--json', '-o', out);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('SEEDED RANDOM inputs');
    const j = JSON.parse(r.out);
    expect(j.fidelity.inputs).toBe('random');
    expect(j.fidelity.samples).toBe(8);
    const refused = join(dir, 'random-refused.onnx');
    const bad = await cli('prune', model, '--sparsity', '0.6', '--min-snr', '60', '-o', refused);
    expectRefused(bad, refused);
    expect(bad.err).toMatch(/seeded random inputs/);
  });

  it('--max-drop: E_ARG without labels; with labels it refuses a drop larger than allowed', async () => {
    const out = join(dir, 'drop.onnx');
    const noLabels = await cli('prune', model, '--sparsity', '0.5', '--data', unlabelled, '--max-drop', '1', '-o', out);
    expect(noLabels.code).toBe(2);
    expect(noLabels.err).toMatch(/--max-drop.*no labels/);
    const r = await cli('prune', model, '--sparsity', '0.9', '--data', labelled, '--val-size', '0', '--json', '-o', out);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.fidelity.accuracyOriginal).toBe(1);
    expect(j.fidelity.dropPoints).toBeGreaterThan(1);
    const refused = join(dir, 'drop-refused.onnx');
    const bad = await cli('prune', model, '--sparsity', '0.9', '--data', labelled, '--val-size', '0', '--max-drop', '1', '-o', refused);
    expectRefused(bad, refused);
    expect(bad.err).toMatch(/more than --max-drop 1/);
  });

  it('qat int8 on unlabelled data distils from the float model; --min-snr refuses', async () => {
    const out = join(dir, 'qat.onnx');
    const args = ['qat', model, '--scheme', 'int8', '--data', unlabelled, '--epochs', '1', '--calib-size', '64', ...train];
    const r = await cli(...args, '--json', '-o', out);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.labels).toBe(false);
    expect(j.labelFreeLoss).toBe('mse');
    expect(j.testAccuracyFloat).toBeNull();
    expect(j.fidelity.samples).toBe(120);
    expect(j.fidelity.snrDb).toBeGreaterThan(15);
    expect(Number.isFinite(j.fidelity.beforeTraining.snrDb)).toBe(true);
    const refused = join(dir, 'qat-refused.onnx');
    expectRefused(await cli(...args, '--min-snr', '200', '-o', refused), refused);
  });

  it('qat --kd-temperature distils the logits by KL', async () => {
    const r = await cli(
      'qat',
      model,
      '--scheme',
      'int8',
      '--data',
      unlabelled,
      '--epochs',
      '1',
      '--kd-temperature',
      '2',
      ...train,
      '--json',
      '-o',
      join(dir, 'qat-kl.onnx'),
    );
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).labelFreeLoss).toBe('kl:2');
  });

  it('cluster with centroid fine-tuning on unlabelled data: fidelity before and after; --min-snr refuses', async () => {
    const out = join(dir, 'cluster.onnx');
    const args = ['cluster', model, '--bits', '3', '--data', unlabelled, '--finetune-epochs', '2', ...train];
    const r = await cli(...args, '--json', '-o', out);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.labelFreeLoss).toBe('mse');
    expect(j.fidelity.snrDb).toBeGreaterThan(j.fidelity.beforeTraining.snrDb);
    const refused = join(dir, 'cluster-refused.onnx');
    expectRefused(await cli(...args, '--min-snr', '200', '-o', refused), refused);
  });

  it('distill into a channel-pruned student and finetune --teacher --keep-zeros, label-free, against the teacher', async () => {
    const student = join(dir, 'student.onnx');
    const s = await cli('prune', model, '--method', 'channel', '--sparsity', '0.5', '--include', 'w2', '-o', student);
    expect(s.code, s.err).toBe(0);
    const out = join(dir, 'distilled.onnx');
    const args = ['distill', '--teacher', model, '--student', student, '--data', unlabelled, '--epochs', '3', ...train];
    const r = await cli(...args, '--json', '-o', out);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.labels).toBe(false);
    expect(j.studentTestAccuracy).toBeNull();
    expect(j.fidelity.snrDb).toBeGreaterThan(j.fidelity.beforeTraining.snrDb);
    const refused = join(dir, 'distilled-refused.onnx');
    expectRefused(await cli(...args, '--min-snr', '200', '-o', refused), refused);

    const pruned = join(dir, 'to-finetune.onnx');
    expect((await cli('prune', model, '--sparsity', '0.5', '-o', pruned)).code).toBe(0);
    const ft = join(dir, 'finetuned.onnx');
    const f = await cli(
      'finetune',
      pruned,
      '--teacher',
      model,
      '--keep-zeros',
      '--data',
      unlabelled,
      '--epochs',
      '2',
      '--lr',
      '1e-3',
      ...train,
      '--json',
      '-o',
      ft,
    );
    expect(f.code, f.err).toBe(0);
    const fj = JSON.parse(f.out);
    expect(fj.labelFreeLoss).toBe('mse');
    expect(fj.testAccuracy).toBeNull();
    expect(fj.fidelity.snrDb).toBeGreaterThan(fj.fidelity.beforeTraining.snrDb);
    const ftRefused = join(dir, 'finetuned-refused.onnx');
    expectRefused(
      await cli(
        'finetune',
        pruned,
        '--teacher',
        model,
        '--data',
        unlabelled,
        '--epochs',
        '1',
        ...train,
        '--min-snr',
        '200',
        '-o',
        ftRefused,
      ),
      ftRefused,
    );
    const noTeacher = await cli('finetune', pruned, '--data', unlabelled, '-o', ftRefused);
    expect(noTeacher.code).toBe(2);
  });
});
