import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { readOnnx, writeOnnx } from '../../src/formats/onnx/index.js';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { runInOrt, trainedZoo } from '../compress/helpers.js';
import { cli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'modelpress-qat-ternary-cli-'));
const model = join(dir, 'lenet.onnx');
const relu = join(dir, 'relu.onnx');
beforeAll(async () => {
  writeFileSync(model, toBinary(ModelProtoSchema, await trainedZoo('lenet-300-100', 1, 3000)));
  const b = new GraphBuilder();
  b.input('x', 'float32', [2, 3]);
  b.node('Relu', ['x'], { outputs: ['y'] });
  b.output('y', 'float32');
  writeFileSync(relu, writeOnnx(makeModel(b.graph)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Bytes of the packed code initializers of a binary/ternary model. */
function codeBytes(bytes: Uint8Array): number {
  return readOnnx(bytes)
    .proto.graph!.initializer.filter((t) => t.name.endsWith('_codes'))
    .reduce((a, t) => a + t.rawData.byteLength, 0);
}

describe('modelpress quantize / qat --scheme binary|ternary', () => {
  it('quantize --scheme ternary|binary: 1.6 / 1 bits per weight of codes, runs in onnxruntime', async () => {
    for (const [scheme, bits] of [
      ['ternary', 1.6],
      ['binary', 1],
    ] as const) {
      const out = join(dir, `ptq-${scheme}.onnx`);
      const r = await cli('quantize', model, '-o', out, '--scheme', scheme, '--min-size', '1', '--json');
      expect(r.code).toBe(0);
      const report = JSON.parse(r.out);
      const n = 784 * 300 + 300 * 100 + 100 * 10;
      const bytes = readFileSync(out);
      expect(codeBytes(bytes)).toBe(bits === 1 ? n / 8 : (784 * 300) / 5 + (300 * 100) / 5 + (100 * 10) / 5);
      // the rest: 410 float32 scales, the float biases, the decoder's constants and the graph
      expect(bytes.length).toBe(report.sizeBytesAfter);
      expect(bytes.length).toBeLessThan((n * bits) / 8 + 8000);
      expect((await runInOrt(bytes, 3)).length).toBe(30);
    }
  });

  it('qat --scheme binary --first-last-8bit --json: the middle layer binary, the ends int8', async () => {
    const out = join(dir, 'qb.onnx');
    const r = await cli(
      'qat',
      model,
      '-o',
      out,
      '--scheme',
      'binary',
      '--first-last-8bit',
      '--data',
      'fashion-mnist',
      '--limit',
      '1200',
      '--val-size',
      '200',
      '--test-limit',
      '300',
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({ scheme: 'binary', firstLast8bit: true, fakeQuantized: ['fc1.weight', 'fc2.weight', 'fc3.weight'] });
    expect(report.notes.join(' ')).toMatch(/kept at 8 bits \(int8 weight-only, per channel\): fc1.weight, fc3.weight/);
    const bytes = readFileSync(out);
    const ops = readOnnx(bytes).proto.graph!.node.map((n) => n.opType);
    expect(ops.filter((o) => o === 'DequantizeLinear')).toHaveLength(2);
    expect(ops.filter((o) => o === 'BitShift')).toHaveLength(2);
    expect(codeBytes(bytes)).toBe((300 * 100) / 8);
    expect(report.testAccuracyQat).toBeGreaterThan(0.5);
    expect((await runInOrt(bytes, 3)).length).toBe(30);
  });

  it('bad input: no weights to quantize, --first-last-8bit with int8: clear errors, nothing written', async () => {
    const before = readdirSync(dir).sort();
    const out = join(dir, 'bad.onnx');
    for (const scheme of ['ternary', 'binary', 'ternary-absmean']) {
      const r = await cli('quantize', relu, '-o', out, '--scheme', scheme);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/E_UNSUPPORTED.*relu\.onnx.*found nothing to quantize/);
    }
    const q = await cli('qat', relu, '-o', out, '--scheme', 'ternary', '--data', 'fashion-mnist', '--limit', '100', '--val-size', '0');
    expect(q.code).not.toBe(0);
    expect(q.err).toMatch(/E_/);
    const e = await cli(
      'qat',
      model,
      '-o',
      out,
      '--scheme',
      'int8',
      '--first-last-8bit',
      '--data',
      'fashion-mnist',
      '--limit',
      '100',
      '--val-size',
      '0',
    );
    expect(e.code).not.toBe(0);
    expect(e.err).toMatch(/E_ARG.*binary and ternary only/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});
