import { describe, expect, it } from 'vitest';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { getScheme, listSchemes, quantizeModel, schemesForFileFormat } from '../../src/quantize/index.js';
import { safetensorsSchemeFor, tfjsSchemeFor } from '../../src/quantize/weights-file.js';

describe('scheme table', () => {
  it('maps schemes to TF.js and safetensors storage from formats', () => {
    expect(tfjsSchemeFor('uint8')).toBe('uint8');
    expect(tfjsSchemeFor('uint16')).toBe('uint16');
    expect(tfjsSchemeFor('fp16-weights')).toBe('float16');
    expect(tfjsSchemeFor('fp16')).toBe('float16');
    expect(() => tfjsSchemeFor('int8')).toThrow(/does not apply to TF.js models; use uint8, uint16 or fp16-weights/);
    expect(() => tfjsSchemeFor('kmeans:99')).toThrow(/does not apply to TF.js/);
    expect(safetensorsSchemeFor('fp16-weights')).toBe('float16');
    expect(safetensorsSchemeFor('fp16')).toBe('float16');
    expect(safetensorsSchemeFor('bf16-weights')).toBe('bfloat16');
    expect(() => safetensorsSchemeFor('uint16')).toThrow(/use fp16-weights or bf16-weights/);
    expect(schemesForFileFormat('tfjs')).toEqual([
      { id: 'uint8', dtype: 'uint8' },
      { id: 'uint16', dtype: 'uint16' },
      { id: 'fp16-weights', dtype: 'float16' },
    ]);
  });

  it('lists the TF.js-only uint16 scheme, which refuses ONNX models', async () => {
    expect(
      listSchemes()
        .map((s) => s.id)
        .slice(-2),
    ).toEqual(['kmeans:<bits>', 'uint16']);
    expect(getScheme('uint16').formats).toEqual({ onnx: false, tfjs: 'uint16' });
    const b = new GraphBuilder();
    b.input('x', 'float32', [1, 4]);
    b.node('MatMul', ['x', b.initializer('w', 'float32', [4, 4], new Float32Array(16).fill(0.5))], { outputs: ['y'] });
    b.output('y', 'float32');
    await expect(quantizeModel(makeModel(b.graph, { opset: 13 }), 'uint16')).rejects.toThrow(
      /scheme uint16 applies to TF.js models only, not ONNX/,
    );
  });

  it('every ONNX scheme can apply, every budget names a cosine or a loss', () => {
    for (const s of listSchemes()) {
      if (s.id === 'kmeans:<bits>') continue;
      expect(s.apply !== undefined, s.id).toBe(s.formats.onnx);
      const f = s.budgets.fixtures;
      if (f)
        expect(
          Object.values(f.minCosine).every((c) => c > 0 && c < 1),
          s.id,
        ).toBe(true);
      if (s.budgets.mnist) expect(s.budgets.mnist.maxPointsLost).toBeGreaterThan(0);
    }
  });
});
