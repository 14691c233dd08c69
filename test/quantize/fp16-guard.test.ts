import type { ModelProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { toFloat32 } from '../../src/core/tensor.js';
import { writeOnnx } from '../../src/formats/onnx/index.js';
import { FidelityAccumulator } from '../../src/eval/fidelity.js';
import { convertFp16 } from '../../src/quantize/fp16.js';
import { activationPeaks, guardFeeds } from '../../src/quantize/fp16-guard.js';
import { quantizeModel } from '../../src/quantize/index.js';
import type { CalibrationFeed } from '../../src/quantize/types.js';
import { scaledLm } from '../../support/fp16-models.js';
import { nodeRunner } from '../../support/quantize-fixtures.js';

function idsFeed(seed: number): CalibrationFeed {
  const data = new BigInt64Array(2 * 16);
  for (let k = 0; k < data.length; k++) data[k] = BigInt((k * 37 + seed * 11) % 256);
  return { input_ids: { dtype: 'int64', shape: [2, 16], data } };
}

/**
 * Logits as a float16 runtime computes them: with graph optimizations off (onnxruntime's CPU provider otherwise
 * runs ops lacking float16 kernels in float32 and drops the Cast pairs around them, hiding the overflow).
 */
async function logits(model: ModelProto, feed: CalibrationFeed): Promise<Float32Array> {
  const r = await nodeRunner(writeOnnx(model), { graphOptimization: 'disabled' });
  try {
    const d = feed.input_ids!.data;
    const out = await r.run({ input_ids: { dtype: 'int64', shape: [2, 16], data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) } });
    return toFloat32(out.logits!);
  } finally {
    await r.dispose();
  }
}

function snr(ref: Float32Array, x: Float32Array): number {
  const a = new FidelityAccumulator('logits', 0);
  a.add(ref, x);
  return a.result().snrDb;
}

const calibration = [idsFeed(1), idsFeed(2)];
const heldOut = idsFeed(5);

describe('fp16 guard', () => {
  it('a residual stream beyond 65504: plain fp16 has Inf activations, the guarded one none and a better SNR', async () => {
    const model = scaledLm(1e7, 6e4);
    const ref = await logits(model, heldOut);
    expect(ref.every(Number.isFinite)).toBe(true);
    const plain = await convertFp16(model, { openRunner: nodeRunner, fp16Guard: false });
    // float16 holds neither the residual stream nor the final LayerNorm's gained output: Inf in the activations
    // (onnxruntime's CPU MatMul happens to turn the Inf rows into finite values; a float16 GPU kernel gives Inf/NaN)
    const { feeds } = await guardFeeds(model, { openRunner: nodeRunner, calibration: [heldOut] });
    const plainPeaks = await activationPeaks(plain.model, feeds, nodeRunner);
    expect(plainPeaks.get('embed.out')).toBe(Infinity);
    expect(plainPeaks.get('ln_f.scaled')).toBe(Infinity);
    const plainSnr = snr(ref, await logits(plain.model, heldOut));

    const guarded = await convertFp16(model, { openRunner: nodeRunner, calibration });
    const good = await logits(guarded.model, heldOut);
    expect(good.every(Number.isFinite)).toBe(true);
    expect(snr(ref, good)).toBeGreaterThan(20);
    expect(snr(ref, good)).toBeGreaterThan(plainSnr);
    const peaks = await activationPeaks(guarded.model, feeds, nodeRunner);
    expect([...peaks.values()].every(Number.isFinite)).toBe(true);
    expect(guarded.notes.join('\n')).toMatch(/fp16 guard: \d+ activation\(s\) beyond float16's range/);
    expect(guarded.notes.join('\n')).not.toMatch(/SEEDED RANDOM/);
  });

  it('an unscaled model keeps nothing in float32 for range (and the same graph as the blind conversion)', async () => {
    const model = scaledLm(1);
    const blind = await convertFp16(model, { openRunner: nodeRunner, fp16Guard: false });
    const guarded = await convertFp16(model, { openRunner: nodeRunner, calibration });
    expect(guarded.notes.join('\n')).toMatch(/nothing kept in float32 for range/);
    expect(writeOnnx(guarded.model)).toEqual(writeOnnx(blind.model));
  });

  it('without calibration data it says loudly that it measured random inputs', async () => {
    const r = await convertFp16(scaledLm(1e7, 6e4), { openRunner: nodeRunner });
    expect(r.notes.join('\n')).toMatch(/SEEDED RANDOM/);
    expect((await logits(r.model, heldOut)).every(Number.isFinite)).toBe(true);
  });

  it('q4f16: MatMuls reading out-of-range activations stay on float32 ones', async () => {
    // the LM head reads the final LayerNorm's out-of-range output: plain q4f16 casts it to Inf
    const model = scaledLm(1e7, 6e4);
    const ref = await logits(model, heldOut);
    const plain = await quantizeModel(model, 'q4f16', { openRunner: nodeRunner, fp16Guard: false, minSize: 0 });
    const guarded = await quantizeModel(model, 'q4f16', { openRunner: nodeRunner, calibration, minSize: 0 });
    const good = await logits(guarded.model, heldOut);
    expect(good.every(Number.isFinite)).toBe(true);
    const plainOut = await logits(plain.model, heldOut);
    expect(plainOut.some((x) => !Number.isFinite(x))).toBe(true);
    expect(snr(ref, plainOut)).toBe(-Infinity);
    expect(snr(ref, good)).toBeGreaterThan(15);
  });
});

describe('fidelity with non-finite outputs', () => {
  it('NaN or Inf in the model output gives SNR -Infinity, never NaN', () => {
    expect(snr(Float32Array.of(1, 2, 3), Float32Array.of(1, Number.NaN, 3))).toBe(-Infinity);
    expect(snr(Float32Array.of(1, 2, 3), Float32Array.of(1, Number.POSITIVE_INFINITY, 3))).toBe(-Infinity);
    expect(snr(Float32Array.of(1, Number.NaN), Float32Array.of(1, Number.NaN))).toBe(Infinity);
  });
});
