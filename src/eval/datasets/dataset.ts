/**
 * Readers' adapters to the one dataset type (data/dataset.ts): IDX images
 * with their labels, and .npy/.npz arrays `x` with optional labels `y`.
 */
import { fail } from '../../core/errors.js';
import { makeTensor, typedView, type Tensor } from '../../core/tensor.js';
import { unitScaled, type Dataset } from '../../data/dataset.js';
import type { ImageDataset } from './idx.js';

/** Fashion-MNIST/MNIST images [count, rows, cols] uint8 with their labels. */
export function datasetFromImages(images: ImageDataset, name: string): Dataset {
  return { x: makeTensor('uint8', [images.count, images.rows, images.cols], images.images), y: Int32Array.from(images.labels), name };
}

/** The images as trainer input, as `--data fashion-mnist` trains on them: [count, 1, rows, cols] float32 pixels in [0, 1]. */
export function trainingImages(images: ImageDataset, name: string): Dataset {
  return unitScaled(datasetFromImages(images, name), { channelDim: true });
}

/** A dataset from arrays `x` and optional `y` (labels: any integer dtype, one per sample, or one-hot rows). */
export function datasetFromArrays(x: Tensor, y: Tensor | undefined, name: string, file?: string): Dataset {
  if (x.shape.length < 1) fail('E_SHAPE', `array 'x' is a scalar; samples must lie along axis 0`, file);
  if (x.dtype === 'string') fail('E_UNSUPPORTED', `array 'x' holds strings`, file);
  const n = x.shape[0]!;
  let labels: Int32Array | undefined;
  if (y) {
    if (y.shape[0] !== n)
      fail('E_SHAPE', `array 'x' has ${n} samples [${x.shape.join(', ')}] but 'y' has shape [${y.shape.join(', ')}]`, file);
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
