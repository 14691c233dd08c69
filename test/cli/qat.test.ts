import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { runInOrt, trainedZoo } from '../compress/helpers.js';
import { cli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'modelpress-qat-cli-'));
const model = join(dir, 'lenet.onnx');
beforeAll(async () => writeFileSync(model, toBinary(ModelProtoSchema, await trainedZoo('lenet-300-100', 1, 3000))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('modelpress qat', () => {
  it('int8 --json: QAT beside PTQ, validated each epoch, a QDQ model onnxruntime runs', async () => {
    const out = join(dir, 'q8.onnx');
    const r = await cli(
      'qat',
      model,
      '-o',
      out,
      '--scheme',
      'int8',
      '--data',
      'fashion-mnist',
      '--limit',
      '2500',
      '--val-size',
      '500',
      '--test-limit',
      '500',
      '--epochs',
      '1',
      '--compare-ptq',
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.schema).toBe('modelpress.qat/1');
    expect(report).toMatchObject({
      command: 'qat',
      scheme: 'int8',
      trainExamples: 2000,
      validationExamples: 500,
      testExamples: 500,
      bestEpoch: 1,
      fakeQuantized: ['fc1.weight', 'fc2.weight', 'fc3.weight'],
    });
    expect(report.validationAccuracy).toBeGreaterThan(0.6);
    expect(report.epochs[0].validationAccuracy).toBe(report.validationAccuracy);
    expect(report.activations.map((a: { tensor: string }) => a.tensor)).toEqual(['flatten.out', 'relu1.out', 'relu2.out']);
    expect(report.testAccuracyPtq).toBeGreaterThan(0.6);
    expect(report.testAccuracyQat).toBeGreaterThan(0.6);
    expect(report.outputBytes).toBeLessThan(0.27 * report.inputBytes);
    const bytes = readFileSync(out);
    expect((await runInOrt(bytes, 3)).length).toBe(30);
  });

  it('int4: block-quantized weights, smaller file, table output with the best epoch', async () => {
    const out = join(dir, 'q4.onnx');
    const r = await cli(
      'qat',
      model,
      '-o',
      out,
      '--scheme',
      'int4',
      '--data',
      'fashion-mnist',
      '--limit',
      '1200',
      '--val-size',
      '200',
      '--test-limit',
      '300',
      '--block-size',
      '64',
      '--epochs',
      '2',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/QAT int4 \d+\.\d+%/);
    expect(r.out).toMatch(/best epoch [12]: validation accuracy \d+\.\d+% \(fake-quantized, 200 examples\)/);
    expect((await runInOrt(readFileSync(out), 3)).length).toBe(30);
  });

  it('bad input: clear errors, nothing written', async () => {
    const before = readdirSync(dir).sort();
    const out = join(dir, 'bad.onnx');
    const cases: [string[], RegExp][] = [
      [['--scheme', 'int3', '--data', 'fashion-mnist'], /int3/],
      [['--scheme', 'int8'], /--data/],
      [['--scheme', 'int4', '--data', 'fashion-mnist', '--block-size', '8'], /--block-size must be an integer in \[16, 256\], got "8"/],
      [
        ['--scheme', 'int4', '--data', 'fashion-mnist', '--block-size', '48', '--limit', '100', '--val-size', '0'],
        /block size must be a power of two/,
      ],
      [['--scheme', 'int8', '--data', 'fashion-mnist', '--ema-decay', '1'], /--ema-decay must be a fraction in \[0, 1\)/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli('qat', model, '-o', out, ...argv);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});
