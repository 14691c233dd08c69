import { describe, expect, it } from 'vitest';
import { makeTensor, toFloat32 } from '../../src/core/tensor.js';
import { fitSamples, makeInputBatch } from '../../src/eval/fit.js';
import { constantTensor, findStatePairs, randomTensor, resolveInputShape } from '../../src/eval/inputs.js';
import type { IoInfo } from '../../src/runtime/runner.js';

const input = (shape: IoInfo['shape'], dtype: IoInfo['dtype'] = 'float32', name = 'x'): IoInfo => ({ name, dtype, shape });

describe('fitting samples to a model input', () => {
  it('reshapes 28x28 samples into [batch, 784] and [N, 1, 28, 28]', () => {
    expect(fitSamples([28, 28], input(['batch', 784]))).toMatchObject({
      sampleShape: [784],
      batched: true,
      batchSymbol: 'batch',
      fixedBatch: undefined,
    });
    expect(fitSamples([28, 28], input(['N', 1, 28, 28])).sampleShape).toEqual([1, 28, 28]);
    expect(fitSamples([28, 28], input([1, 784]))).toMatchObject({ fixedBatch: 1 });
  });

  it('binds symbolic dims axis by axis, or the single unknown by count', () => {
    const f = fitSamples([3, 32, 40], input(['n', 3, 'h', 'w']));
    expect(f.sampleShape).toEqual([3, 32, 40]);
    expect(f.bindings).toEqual({ h: 32, w: 40 });
    expect(fitSamples([28, 28], input(['n', 1, 28, 'w'])).sampleShape).toEqual([1, 28, 28]);
  });

  it('names both shapes when the data cannot fit', () => {
    expect(() => fitSamples([28, 28], input(['p2o.DynamicDimension.0', 3, 48, 'p2o.DynamicDimension.1']))).toThrow(
      /dataset samples of shape \[28, 28\] \(784 values\) cannot fit model input 'x' \[p2o\.DynamicDimension\.0, 3, 48, p2o\.DynamicDimension\.1\]/,
    );
    let code: string | undefined;
    try {
      fitSamples([28, 28], input(['batch', 10]));
    } catch (e) {
      code = (e as { code: string }).code;
    }
    expect(code).toBe('E_SHAPE');
    expect(() => fitSamples([28, 28], input(['batch', 10]))).toThrow(/\[28, 28\].*\[batch, 10\]/);
  });

  it('scales uint8 by 1/255 into float inputs, applies per-channel mean/std and transposes HWC→CHW', () => {
    const x = makeTensor('uint8', [1, 2, 2], Uint8Array.of(0, 51, 102, 255));
    const fit = fitSamples([2, 2], input(['b', 4]));
    expect([...toFloat32(makeInputBatch(x, 0, 1, fit))].map((v) => +v.toFixed(6))).toEqual([0, 0.2, 0.4, 1]);
    // One HWC sample of 1x2 pixels with 2 channels: [[a0, a1], [b0, b1]].
    const hwc = makeTensor('float32', [1, 1, 2, 2], new Uint8Array(Float32Array.of(10, 20, 30, 40).buffer));
    const pre = { dataLayout: 'nhwc' as const, modelLayout: 'nchw' as const, mean: [10, 20], std: [2, 4] };
    const f2 = fitSamples([1, 2, 2], input(['b', 2, 1, 2]), pre);
    expect(f2.transpose).toBe(1);
    expect([...toFloat32(makeInputBatch(hwc, 0, 1, f2, pre))]).toEqual([0, 10, 0, 5]); // channel 0: (10-10)/2, (30-10)/2; channel 1: (20-20)/4, (40-20)/4
  });

  it('converts to the input dtype (float16, int64)', () => {
    const x = makeTensor('float32', [2, 2], new Uint8Array(Float32Array.of(1.5, 2, 3, 4).buffer));
    const f16 = makeInputBatch(x, 0, 2, fitSamples([2], input(['b', 2], 'float16')));
    expect(f16.dtype).toBe('float16');
    expect([...toFloat32(f16)]).toEqual([1.5, 2, 3, 4]);
    const i64 = makeInputBatch(x, 1, 2, fitSamples([2], input(['b', 2], 'int64')));
    expect(i64.shape).toEqual([1, 2]);
    expect([...toFloat32(i64)]).toEqual([3, 4]);
  });
});

describe('random inputs', () => {
  it('resolves symbolic dims from --dim and --shape and names missing ones', () => {
    const vadInput = input(['batch', 'sequence']);
    expect(resolveInputShape(vadInput, { dims: { batch: 1, sequence: 512 } })).toEqual([1, 512]);
    expect(() => resolveInputShape(vadInput, { dims: { batch: 1 } })).toThrow(/'sequence'.*--dim sequence=<n>/);
    expect(resolveInputShape(input(['n', 3, 'h', 'w']), { shapes: { x: [1, 3, 64, 64] } })).toEqual([1, 3, 64, 64]);
    expect(() => resolveInputShape(input(['n', 3, 'h', 'w']), { shapes: { x: [1, 4, 64, 64] } })).toThrow(/fixes it at 3/);
  });

  it('makes seeded tensors of every input dtype', () => {
    const a = randomTensor('float32', [4], 1);
    expect(randomTensor('float32', [4], 1)).toEqual(a);
    expect(randomTensor('float32', [4], 2)).not.toEqual(a);
    expect(toFloat32(a).every((v) => v >= 0 && v < 1)).toBe(true);
    const i = randomTensor('int64', [8], 3);
    expect(i.data.length).toBe(64);
    expect(toFloat32(i).every((v) => Number.isInteger(v) && v >= 0 && v < 16)).toBe(true);
    expect(toFloat32(randomTensor('bool', [16], 4)).every((v) => v === 0 || v === 1)).toBe(true);
    expect(randomTensor('float16', [3], 5).data.length).toBe(6);
    expect(toFloat32(constantTensor('int64', [], 16000))).toEqual(Float32Array.of(16000));
  });

  it('finds recurrent state pairs by name (silero_vad h→hn, c→cn)', () => {
    const inputs = [
      input(['batch', 'sequence'], 'float32', 'input'),
      input([], 'int64', 'sr'),
      input([2, 'batch', 64], 'float32', 'h'),
      input([2, 'batch', 64], 'float32', 'c'),
    ];
    const outputs = [
      input(['batch', 1], 'float32', 'output'),
      input([2, 'batch', 64], 'float32', 'hn'),
      input([2, 'batch', 64], 'float32', 'cn'),
    ];
    expect(findStatePairs(inputs, outputs)).toEqual([
      { input: 'h', output: 'hn' },
      { input: 'c', output: 'cn' },
    ]);
  });
});
