/** Shared fixtures of the compression tests: Fashion-MNIST subsets and quickly trained zoo models. */
import * as ortNode from 'onnxruntime-node';
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { floatView, limitSamples, type Dataset } from '../../src/data/dataset.js';
import { trainingImages } from '../../src/eval/datasets/dataset.js';
import { loadFashionMnist } from '../../src/node/datasets.js';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import { train } from '../../src/train/trainer.js';
import { buildZooModel } from '../../src/train/zoo/index.js';

export const openRunner = createNodeRunner;

let cached: { train: Dataset; test: Dataset } | undefined;

/** Fashion-MNIST: the first `trainCount` training and `testCount` test images, pixels in [0, 1]. */
export function fashion(trainCount = 6000, testCount = 2000): { train: Dataset; test: Dataset } {
  if (!cached) {
    const split = (s: 'train' | 'test'): Dataset => trainingImages(loadFashionMnist({ split: s }), `fashion-mnist:${s}`);
    cached = { train: split('train'), test: split('test') };
  }
  return { train: limitSamples(cached.train, trainCount), test: limitSamples(cached.test, testCount) };
}

/** A zoo network trained for `epochs` on the first `trainCount` images (seed 0). */
export async function trainedZoo(arch: string, epochs = 1, trainCount = 6000): Promise<ModelProto> {
  const { train: data } = fashion(trainCount);
  const r = await train({
    openRunner,
    model: buildZooModel(arch, { seed: 0 }),
    train: data,
    epochs,
    batchSize: 64,
    seed: 0,
    restoreBest: false,
  });
  return r.model;
}

/** Runs `model` in onnxruntime-node on `n` test images; returns the logits. */
export async function runInOrt(model: ModelProto | Uint8Array, n = 8): Promise<Float32Array> {
  const bytes = model instanceof Uint8Array ? model : toBinary(ModelProtoSchema, model);
  const session = await ortNode.InferenceSession.create(bytes);
  const { test } = fashion();
  const x = new ortNode.Tensor('float32', floatView(test).inputs.slice(0, n * 784), [n, 1, 28, 28]);
  const out = await session.run({ [session.inputNames[0]!]: x });
  const logits = out[session.outputNames[0]!]!.data as Float32Array;
  await session.release();
  return logits;
}
