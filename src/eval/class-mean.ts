/**
 * A real classifier without training: nearest class mean. For class means
 * mu_k, argmin_k |x − mu_k|² = argmax_k (2·x·mu_k − |mu_k|²), which is one
 * Gemm: logits = x · (2·M)ᵀ + (−|mu|²). Built as an ONNX model
 * (Flatten → Gemm) so every part of modelpress can run and compress it.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { GraphBuilder, makeModel } from '../graph/index.js';

export interface ClassMeans {
  /** [classes, features] means, row-major. */
  readonly means: Float32Array;
  readonly classes: number;
  readonly features: number;
}

/**
 * Per-class means of `images` (`count` samples of `features` bytes) after
 * multiplying by `scale` (default 1/255, the model then takes inputs in [0, 1]).
 */
export function computeClassMeans(
  images: Uint8Array,
  labels: ArrayLike<number>,
  classes: number,
  options: { scale?: number } = {},
): ClassMeans {
  const count = labels.length;
  if (count === 0 || images.length % count !== 0)
    throw new ModelpressError('E_SHAPE', `${images.length} pixel bytes do not split into ${count} samples`);
  const features = images.length / count;
  const scale = options.scale ?? 1 / 255;
  const sums = new Float64Array(classes * features);
  const counts = new Float64Array(classes);
  for (let i = 0; i < count; i++) {
    const c = labels[i]!;
    if (!(c >= 0 && c < classes)) throw new ModelpressError('E_SHAPE', `label ${c} of sample ${i} is outside [0, ${classes})`);
    counts[c]!++;
    const row = c * features;
    const base = i * features;
    for (let j = 0; j < features; j++) sums[row + j]! += images[base + j]!;
  }
  const means = new Float32Array(classes * features);
  for (let c = 0; c < classes; c++) {
    const f = counts[c] ? scale / counts[c]! : 0;
    for (let j = 0; j < features; j++) means[c * features + j] = sums[c * features + j]! * f;
  }
  return { means, classes, features };
}

/** Logits of the nearest-class-mean classifier, computed directly (the reference path for tests). */
export function classMeanLogits(means: ClassMeans, x: Float32Array): Float32Array {
  const { classes, features } = means;
  const n = x.length / features;
  const out = new Float32Array(n * classes);
  for (let c = 0; c < classes; c++) {
    let norm = 0;
    for (let j = 0; j < features; j++) norm += means.means[c * features + j]! ** 2;
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let j = 0; j < features; j++) dot += x[i * features + j]! * means.means[c * features + j]!;
      out[i * classes + c] = 2 * dot - norm;
    }
  }
  return out;
}

/**
 * The ONNX model: input `image` float32 [batch, ...inputShape] (default
 * [batch, 28, 28]), output `logits` float32 [batch, classes].
 */
export function buildClassMeanModel(means: ClassMeans, options: { inputShape?: readonly number[]; opset?: number } = {}): ModelProto {
  const inputShape = options.inputShape ?? [28, 28];
  const features = inputShape.reduce((a, b) => a * b, 1);
  if (features !== means.features)
    throw new ModelpressError(
      'E_SHAPE',
      `input shape [${inputShape.join(', ')}] holds ${features} features, the means have ${means.features}`,
    );
  const b = new GraphBuilder(undefined, 'class_mean');
  const image = b.input('image', 'float32', ['batch', ...inputShape]);
  const weights = new Float32Array(means.means.length);
  const bias = new Float32Array(means.classes);
  for (let c = 0; c < means.classes; c++) {
    let norm = 0;
    for (let j = 0; j < features; j++) {
      const m = means.means[c * features + j]!;
      weights[c * features + j] = 2 * m;
      norm += m * m;
    }
    bias[c] = -norm;
  }
  const w = b.initializer('class_means_x2', 'float32', [means.classes, features], weights);
  const c = b.initializer('neg_mean_norms', 'float32', [means.classes], bias);
  const flat = b.op('Flatten', [image], { axis: 1 });
  b.node('Gemm', [flat, w, c], { outputs: ['logits'], attrs: { transB: 1 } });
  b.output('logits', 'float32', ['batch', means.classes]);
  return makeModel(b.graph, { opset: options.opset ?? 17, producerName: 'modelpress class-mean' });
}
