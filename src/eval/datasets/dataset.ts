/**
 * An in-memory dataset: samples stacked along axis 0 of `x`, optional integer
 * labels `y`. Built from IDX, .npy or .npz; split deterministically.
 */
import { fail } from '../../core/errors.js';
import { makeTensor, typedView, type Tensor } from '../../core/tensor.js';
import { byteLength, elementCount } from '../../core/dtypes.js';
import type { ImageDataset } from './idx.js';

export interface ArrayDataset {
  /** Samples along axis 0: [count, ...sampleShape]. */
  readonly x: Tensor;
  /** One integer class label per sample, if the dataset has labels. */
  readonly y: Int32Array | undefined;
  /** Short description for reports: 'fashion-mnist:test', 'data.npz'. */
  readonly name: string;
}

export function sampleCount(ds: ArrayDataset): number {
  return ds.x.shape[0] ?? 0;
}

export function sampleShape(ds: ArrayDataset): number[] {
  return ds.x.shape.slice(1);
}

/** Fashion-MNIST/MNIST images [count, rows, cols] uint8 with their labels. */
export function datasetFromImages(images: ImageDataset, name: string): ArrayDataset {
  return { x: makeTensor('uint8', [images.count, images.rows, images.cols], images.images), y: Int32Array.from(images.labels), name };
}

/** A dataset from arrays `x` and optional `y` (labels: any integer dtype, one per sample, or one-hot rows). */
export function datasetFromArrays(x: Tensor, y: Tensor | undefined, name: string, file?: string): ArrayDataset {
  if (x.shape.length < 1) fail('E_SHAPE', `array 'x' is a scalar; samples must lie along axis 0`, file);
  if (x.dtype === 'string') fail('E_UNSUPPORTED', `array 'x' holds strings`, file);
  const n = x.shape[0]!;
  let labels: Int32Array | undefined;
  if (y) {
    if (y.shape[0] !== n) fail('E_SHAPE', `array 'x' has ${n} samples [${x.shape.join(', ')}] but 'y' has shape [${y.shape.join(', ')}]`, file);
    const values = typedView(y);
    if (y.shape.length === 1) {
      labels = Int32Array.from({ length: n }, (_, i) => Number(values[i]!));
    } else if (y.shape.length === 2) {
      // One-hot (or score) rows: the label is the argmax.
      const c = y.shape[1]!;
      labels = Int32Array.from({ length: n }, (_, i) => {
        let best = 0;
        for (let j = 1; j < c; j++) if (Number(values[i * c + j]!) > Number(values[i * c + best]!)) best = j;
        return best;
      });
    } else fail('E_SHAPE', `labels 'y' must be [count] or one-hot [count, classes], got [${y.shape.join(', ')}]`, file);
    for (let i = 0; i < n; i++) if (!(labels[i]! >= 0)) fail('E_CORRUPT', `label ${labels[i]} of sample ${i} is negative`, file);
  }
  return { x, y: labels, name };
}

/** The samples at `indices` (in that order), as a new dataset. */
export function selectSamples(ds: ArrayDataset, indices: ArrayLike<number>, name = ds.name): ArrayDataset {
  const shape = sampleShape(ds);
  const sampleBytes = byteLength(ds.x.dtype, elementCount(shape));
  const data = new Uint8Array(indices.length * sampleBytes);
  for (let i = 0; i < indices.length; i++) {
    const s = indices[i]!;
    data.set(ds.x.data.subarray(s * sampleBytes, (s + 1) * sampleBytes), i * sampleBytes);
  }
  return {
    x: makeTensor(ds.x.dtype, [indices.length, ...shape], data),
    y: ds.y ? Int32Array.from({ length: indices.length }, (_, i) => ds.y![indices[i]!]!) : undefined,
    name,
  };
}

/** The first `limit` samples. */
export function limitSamples(ds: ArrayDataset, limit: number): ArrayDataset {
  const n = sampleCount(ds);
  if (limit >= n) return ds;
  return selectSamples(ds, Uint32Array.from({ length: limit }, (_, i) => i));
}
