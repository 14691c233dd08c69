import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { buildStudent } from '../../src/compress/students.js';
import { runInOrt, trainedZoo } from '../compress/helpers.js';
import { cli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'modelpress-distill-cli-'));
const teacher = join(dir, 'teacher.onnx');
beforeAll(async () => writeFileSync(teacher, toBinary(ModelProtoSchema, await trainedZoo('lenet-300-100', 1, 3000))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('modelpress distill', () => {
  it('--json distills into an MLP student, with the labels-only run beside it', async () => {
    const out = join(dir, 'student.onnx');
    const r = await cli(
      'distill',
      '--teacher',
      teacher,
      '--student',
      'mlp-32',
      '--data',
      'fashion-mnist',
      '--limit',
      '2000',
      '--test-limit',
      '500',
      '--temperature',
      '2',
      '--alpha',
      '0.5',
      '--epochs',
      '2',
      '--compare-labels',
      '-o',
      out,
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.schema).toBe('modelpress.distill/1');
    expect(report).toMatchObject({
      command: 'distill',
      student: 'mlp-32',
      temperature: 2,
      alpha: 0.5,
      trainExamples: 2000,
      testExamples: 500,
    });
    expect(report.epochs).toHaveLength(2);
    expect(report.teacherTestAccuracy).toBeGreaterThan(0.6);
    expect(report.studentTestAccuracy).toBeGreaterThan(0.5);
    expect(report.labelsOnlyTestAccuracy).toBeGreaterThan(0.5);
    expect(report.outputBytes).toBeLessThan(readFileSync(teacher).length / 5);
    expect((await runInOrt(readFileSync(out), 3)).length).toBe(30);
  });

  it('takes a student from an ONNX file', async () => {
    const s = join(dir, 'init.onnx');
    writeFileSync(s, toBinary(ModelProtoSchema, buildStudent('mlp-16', 3)));
    const out = join(dir, 'student2.onnx');
    const r = await cli(
      'distill',
      '--teacher',
      teacher,
      '--student',
      s,
      '--data',
      'fashion-mnist',
      '--limit',
      '500',
      '--test-limit',
      '200',
      '--epochs',
      '1',
      '-o',
      out,
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/distilled student \d+\.\d+%/);
    expect(existsSync(out)).toBe(true);
  });

  it('bad input: clear errors, nothing written', async () => {
    const before = readdirSync(dir).sort();
    const out = join(dir, 'bad.onnx');
    const base = ['--teacher', teacher, '--data', 'fashion-mnist', '-o', out];
    const cases: [string[], RegExp][] = [
      [[...base, '--student', 'mlp-32', '--temperature', '0'], /--temperature must be a number > 0, got "0"/],
      [[...base, '--student', 'mlp-32', '--alpha', '2'], /--alpha must be a fraction in \[0, 1\]/],
      [[...base, '--student', 'vgg'], /neither a known architecture/],
      [['--teacher', teacher, '--student', 'mlp-32', '--data', 'fashion-mnist', '-o', teacher], /--output must differ/],
      [
        ['--teacher', join(dir, 'missing.onnx'), '--student', 'mlp-32', '--data', 'fashion-mnist', '-o', out],
        /missing\.onnx|does not exist|no such/i,
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await cli('distill', ...argv);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
    }
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});
