/** The training commands' data loader on the data-spec language: image folders, --val-split, the model's inputs. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { loadTrainingData, modelInputs } from '../../src/cli/data.js';
import { sampleCount } from '../../src/data/dataset.js';
import { buildClassMeanModel } from '../../src/eval/class-mean.js';
import { writeOnnx } from '../../src/formats/onnx/write.js';
import { buildZooModel } from '../../src/train/zoo/index.js';
import { cli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-data-training-'));

/** Three class folders of 40x36 colour images, 20 each: class c is a bright band across the image's c-th third, in channel c. */
function classFolder(name: string): string {
  const root = join(dir, name);
  for (let c = 0; c < 3; c++) {
    mkdirSync(join(root, `class-${c}`), { recursive: true });
    for (let i = 0; i < 20; i++) {
      const data = Buffer.alloc(40 * 36 * 4);
      for (let p = 0; p < 40 * 36; p++) {
        const band = Math.floor(Math.floor(p / 40) / 12) === c;
        const rgb = [20, 20, 20];
        if (band) rgb.fill(120).splice(c, 1, 200 + ((p * 7 + i * 13) % 50));
        data.set([...rgb, 255], p * 4);
      }
      writeFileSync(join(root, `class-${c}`, `${i}.png`), PNG.sync.write({ width: 40, height: 36, data }));
    }
  }
  return root;
}

describe('training data from a folder of images', () => {
  const folder = classFolder('colours');

  it("is sized by the model's input when the command passes it, split 80/20 and held out by --val-split", async () => {
    const model = buildClassMeanModel({ classes: 3, features: 784, means: new Float32Array(3 * 784) });
    const inputs = modelInputs(model);
    expect(inputs).toEqual([{ name: 'image', dtype: 'float32', shape: ['batch', 28, 28] }]);
    const data = await loadTrainingData({ data: folder, seed: 1, valSize: 0, valSplit: 0.25, inputs });
    // 60 images: 48 train (12 of them validation), 12 test; grey [1, 28, 28] for the [batch, 28, 28] input.
    expect([sampleCount(data.train), sampleCount(data.validation!), sampleCount(data.test)]).toEqual([36, 12, 12]);
    expect(data.train.x.shape.slice(1)).toEqual([1, 28, 28]);
    expect(new Set(data.test.y).size).toBeGreaterThan(1);
    // Without the model: the images' own size and colour, unless the folder's preprocess.json says otherwise.
    const own = await loadTrainingData({ data: folder, seed: 1, valSize: 0, limit: 5 });
    expect(own.train.x.shape).toEqual([5, 3, 36, 40]);
  });

  it('finetune trains on it (preprocess.json: grey 28x28, the zoo input), the test accuracy reported', async () => {
    const grey = classFolder('grey');
    writeFileSync(join(grey, 'preprocess.json'), JSON.stringify({ size: 28, channels: 'gray' }));
    const model = join(dir, 'lenet.onnx');
    writeFileSync(model, writeOnnx(buildZooModel('lenet-300-100', { seed: 2 })));
    const r = await cli(
      'finetune',
      model,
      '-o',
      join(dir, 'ft.onnx'),
      '--data',
      grey,
      '--epochs',
      '10',
      '--batch-size',
      '16',
      '--val-split',
      '0.1',
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out) as { trainExamples: number; validationExamples: number; testAccuracy: number };
    expect([rep.trainExamples, rep.validationExamples]).toEqual([43, 5]);
    expect(rep.testAccuracy).toBeGreaterThan(0.9);
    // A colour 36x40 folder without preprocess.json is fitted to the model's [N, 1, 28, 28] input (grey, resized).
    const fitted = await cli(
      'finetune',
      model,
      '-o',
      join(dir, 'ft2.onnx'),
      '--data',
      folder,
      '--epochs',
      '1',
      '--val-size',
      '0',
      '--json',
    );
    expect(fitted.code, fitted.err).toBe(0);
    expect((JSON.parse(fitted.out) as { trainExamples: number }).trainExamples).toBeGreaterThan(0);
    // A preprocess.json that contradicts the model's input is an E_SHAPE naming both shapes.
    const contra = classFolder('contra');
    writeFileSync(join(contra, 'preprocess.json'), JSON.stringify({ size: [36, 40], channels: 'rgb' }));
    const bad = await cli('finetune', model, '-o', join(dir, 'ft3.onnx'), '--data', contra, '--epochs', '1', '--val-size', '0');
    expect(bad.code, bad.err).toBe(1);
    expect(bad.err).toContain('[E_SHAPE]');
  });
});
