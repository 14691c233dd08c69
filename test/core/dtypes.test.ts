import { describe, expect, it } from 'vitest';
import { DTYPES, dtypeFromOnnx, ONNX_TYPE } from '../../src/core/dtypes.js';

describe('ONNX_TYPE', () => {
  it('names the TensorProto.DataType values of the ONNX spec', () => {
    expect(ONNX_TYPE.float32).toBe(1);
    expect(ONNX_TYPE.uint8).toBe(2);
    expect(ONNX_TYPE.int8).toBe(3);
    expect(ONNX_TYPE.int32).toBe(6);
    expect(ONNX_TYPE.int64).toBe(7);
    expect(ONNX_TYPE.string).toBe(8);
    expect(ONNX_TYPE.bool).toBe(9);
    expect(ONNX_TYPE.float16).toBe(10);
    expect(ONNX_TYPE.bfloat16).toBe(16);
    expect(ONNX_TYPE.int4).toBe(22);
  });

  it('has one entry per dtype of the traits table, and round-trips through dtypeFromOnnx', () => {
    expect(Object.keys(ONNX_TYPE).sort()).toEqual(DTYPES.map((t) => t.name).sort());
    for (const [name, v] of Object.entries(ONNX_TYPE)) expect(dtypeFromOnnx(v)).toBe(name);
    expect(Object.isFrozen(ONNX_TYPE)).toBe(true);
  });
});
