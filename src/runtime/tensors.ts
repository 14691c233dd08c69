/**
 * Tensors over typed arrays the caller owns, without copies: a training step
 * feeds the optimizer's live Float32Arrays this way (the adapter hands
 * onnxruntime a Float32Array over the same bytes), so in-place updates are
 * seen by the next run.
 */
import { ModelpressError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';

function bytesOf(values: ArrayBufferView): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** A float32 Tensor viewing `values` (no copy). */
export function floatTensor(values: Float32Array, shape: readonly number[]): Tensor {
  return { dtype: 'float32', shape: [...shape], data: bytesOf(values) };
}

/** An int64 Tensor viewing `values` (no copy). */
export function int64Tensor(values: BigInt64Array, shape: readonly number[]): Tensor {
  return { dtype: 'int64', shape: [...shape], data: bytesOf(values) };
}

/** The float32 values of a runner output (a view when aligned, as onnxruntime's outputs are). */
export function floatValues(t: Tensor, name = 'output'): Float32Array {
  if (t.dtype !== 'float32') throw new ModelpressError('E_UNSUPPORTED', `${name} is ${t.dtype}, expected float32`);
  const b = t.data;
  return b.byteOffset % 4 === 0 ? new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4) : new Float32Array(new Uint8Array(b).buffer);
}
