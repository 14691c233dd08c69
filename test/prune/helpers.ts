/** Shared helpers of the pruning tests: run a model in onnxruntime-node, random inputs. */
import * as ort from 'onnxruntime-node';
import type { ModelProto } from 'onnx-buf';
import { writeOnnx } from '../../src/formats/onnx/write.js';
import { createRng } from '../../src/core/random.js';

/** Runs `model` on one float input; returns the first output's values. */
export async function runModel(model: ModelProto, input: Float32Array, dims: readonly number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(writeOnnx(model), { graphOptimizationLevel: 'disabled' });
  try {
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, dims) });
    return out[session.outputNames[0]!]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Uniform values in [lo, hi), seeded. */
export function randomValues(count: number, seed: number, lo = 0, hi = 1): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = lo + (hi - lo) * rng.next();
  return out;
}

/** Largest |a - b| over both arrays (which must have the same length). */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
