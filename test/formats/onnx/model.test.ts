/**
 * Read/write/list/summary/strip/replace on a model built in code with
 * weights in every place ONNX allows (see synthetic.ts).
 */
import { describe, expect, it } from 'vitest';
import { toFloat32, type Tensor } from '../../../src/core/tensor.js';
import {
  listOnnxTensors,
  onnxSummary,
  readOnnx,
  replaceOnnxTensors,
  restoreWeights,
  stripWeights,
  writeOnnx,
} from '../../../src/formats/onnx/index.js';
import { EXPECTED_WEIGHTS, syntheticModel } from './synthetic.js';

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const values = (t: Tensor) => Array.from(toFloat32(t));

describe('synthetic model with weights everywhere', () => {
  const bytes = writeOnnx(syntheticModel());

  it('reads and writes back byte-identically, keeping an unknown trailing field', () => {
    const m = readOnnx(bytes, { file: 'synthetic.onnx' });
    expect(same(writeOnnx(m.proto), bytes)).toBe(true);
    // field 99, varint 1: a field from a future ONNX version
    const withUnknown = new Uint8Array([...bytes, 0x98, 0x06, 0x01]);
    expect(same(writeOnnx(readOnnx(withUnknown).proto), withUnknown)).toBe(true);
  });

  it('a non-canonical encoding (unpacked float_data) reads the same and is rewritten canonically, then stays fixed', () => {
    const f32 = (v: number) => [...new Uint8Array(Float32Array.of(v).buffer)];
    // TensorProto: dims 2, data_type FLOAT, float_data as two unpacked fixed32 fields (legal protobuf, but onnx.proto says packed), name 'w'
    const tensor = [0x08, 0x02, 0x10, 0x01, 0x25, ...f32(1), 0x25, ...f32(2), 0x42, 0x01, 0x77];
    const graph = [0x2a, tensor.length, ...tensor];
    const model = Uint8Array.from([0x08, 0x08, 0x3a, graph.length, ...graph, 0x42, 0x02, 0x10, 0x11]);
    const m = readOnnx(model);
    expect(values(listOnnxTensors(m)[0]!.tensor)).toEqual([1, 2]);
    const canonical = writeOnnx(m.proto);
    expect(same(canonical, model)).toBe(false);
    expect(canonical.byteLength).toBe(model.byteLength); // two 1-byte tags became one tag + one length byte
    expect(same(writeOnnx(readOnnx(canonical).proto), canonical)).toBe(true);
  });

  it('lists every weight with its location and value', () => {
    const ts = listOnnxTensors(readOnnx(bytes));
    expect(
      ts.map((t) => [t.name, 'graph' in t.location ? t.location.graph : '?', t.location.kind, t.tensor.dtype, [...t.tensor.shape]]),
    ).toEqual(EXPECTED_WEIGHTS);
    const byName = new Map(ts.map((t) => [t.name, t.tensor]));
    expect(values(byName.get('w_f32_typed')!)).toEqual([1, -2, 3.5, 0]);
    expect(values(byName.get('w_f16_in_int32')!)).toEqual([1, -2, Infinity]);
    expect(values(byName.get('w_i8')!)).toEqual([-128, 0, 127]);
    expect(Array.from(new Uint32Array(new Uint8Array(byName.get('w_u32')!.data).buffer))).toEqual([0, 4294967295]);
    expect(values(byName.get('w_int4')!)).toEqual([1, 2, 3, 4, -1]);
    expect(byName.get('w_str')!.strings!.map((s) => new TextDecoder().decode(s))).toEqual(['a', 'bc']);
    expect(values(byName.get('w_sparse')!)).toEqual([1, 0, 0, 0, 0, 2, 0, 3]);
    expect(values(byName.get('c_sparse')!)).toEqual([0, 7, 0, 0, 0, 8]);
    expect(values(byName.get('c_float')!)).toEqual([1.5]);
    expect(values(byName.get('c_ints')!)).toEqual([3, 4]);
    expect(values(byName.get('c_int')!)).toEqual([-7]);
    expect(values(byName.get('body_w')!)).toEqual([5, 6]);
    const constantLoc = ts.find((t) => t.name === 'c_floats')!.location;
    expect(constantLoc).toEqual({ kind: 'constant', graph: '', node: 'k2', attribute: 'value_floats' });
    expect(ts.find((t) => t.name === 'scan_c')!.location).toEqual({
      kind: 'constant',
      graph: 'Scan_16/body',
      node: 'Constant_0',
      attribute: 'value',
    });
  });

  it('summarizes: op histogram over subgraphs, opsets, inputs minus initializers for IR < 4', () => {
    const s = onnxSummary(readOnnx(bytes));
    expect(s.opHistogram).toEqual({ Constant: 9, If: 1, Add: 9, Loop: 1, Identity: 1, Scan: 1, 'custom::MyFn': 1 });
    expect(s.nodeCount).toBe(23);
    expect(s.subgraphCount).toBe(4);
    expect(s.opsets).toEqual([
      { domain: '', version: 17 },
      { domain: 'custom', version: 1 },
    ]);
    expect(s.functions).toEqual(['custom::MyFn']);
    expect(s.metadata).toEqual({ author: 'tests' });
    expect(s.outputs).toEqual([
      { name: 'y', dtype: 'float32', shape: [2], rankKnown: true },
      { name: 's', dtype: 'int64', shape: ['?dim', 1], rankKnown: true },
    ]);
    expect(s.inputs.map((i) => i.name)).toEqual(['x', 'flag', 'trip']);
    const old = onnxSummary(readOnnx(writeOnnx(syntheticModel(3n))));
    expect(old.irVersion).toBe(3);
    expect(old.inputs.map((i) => i.name)).toEqual(['x', 'flag', 'trip']);
    expect(onnxSummary(syntheticModel(3n)).inputs[1]).toEqual({ name: 'flag', dtype: 'bool', shape: [], rankKnown: true });
  });

  it('strips payloads of every field kind and restores them byte-identically', () => {
    const m = readOnnx(bytes);
    const { skeleton, payloads } = stripWeights(m.proto);
    expect(new Set(payloads.map((p) => p.field))).toEqual(
      new Set(['rawData', 'floatData', 'int32Data', 'int64Data', 'doubleData', 'uint64Data']),
    );
    const skeletonBytes = writeOnnx(skeleton);
    expect(skeletonBytes.byteLength).toBeLessThan(bytes.byteLength - 256);
    expect(() => readOnnx(skeletonBytes)).toThrow(/no data/); // a skeleton is not a valid model on its own
    const restored = restoreWeights(readOnnx(skeletonBytes, { validate: false }).proto, payloads);
    expect(same(writeOnnx(restored), bytes)).toBe(true);
    const big = stripWeights(m.proto, { minBytes: 100 });
    expect(big.payloads.map((p) => p.name)).toEqual(['w_raw']);
    expect(same(writeOnnx(restoreWeights(big.skeleton, big.payloads)), bytes)).toBe(true);
  });

  it('replaces weights of every kind, converting value_* attributes only when the dtype no longer fits', () => {
    const m = readOnnx(bytes);
    const f32 = (v: number[], shape = [v.length]): Tensor => ({
      dtype: 'float32',
      shape,
      data: new Uint8Array(Float32Array.from(v).buffer),
    });
    const f16: Tensor = { dtype: 'float16', shape: [3], data: new Uint8Array(Uint16Array.of(0x3c00, 0x4000, 0x4200).buffer) };
    const patched = replaceOnnxTensors(m.proto, [
      { name: 'c_floats', graph: '', tensor: f16 },
      { name: 'c_float', graph: '', tensor: f32([2.5], []) },
      { name: 'w_f32_typed', graph: '', tensor: f32([4, 3, 2, 1], [2, 2]) },
      { name: 'w_sparse', graph: '', tensor: f32([9, 0, 0, 0, 0, 8, 0, 7], [2, 4]) },
      { name: 'body_w', graph: 'cond/else_branch/Loop_0/body', tensor: f32([0, 1]) },
      { name: 'fn_c', graph: 'functions/custom.MyFn', tensor: f32([3], []) },
    ]);
    const after = readOnnx(writeOnnx(patched));
    const ts = new Map(listOnnxTensors(after).map((t) => [t.name, t]));
    expect(ts.get('c_floats')!.location).toEqual({ kind: 'constant', graph: '', node: 'k2', attribute: 'value' });
    expect(values(ts.get('c_floats')!.tensor)).toEqual([1, 2, 3]);
    expect(ts.get('c_floats')!.tensor.dtype).toBe('float16');
    expect(ts.get('c_float')!.location).toEqual({ kind: 'constant', graph: '', node: 'k1', attribute: 'value_float' });
    expect(values(ts.get('c_float')!.tensor)).toEqual([2.5]);
    expect(values(ts.get('w_f32_typed')!.tensor)).toEqual([4, 3, 2, 1]);
    expect(values(ts.get('w_sparse')!.tensor)).toEqual([9, 0, 0, 0, 0, 8, 0, 7]);
    expect(values(ts.get('body_w')!.tensor)).toEqual([0, 1]);
    expect(values(ts.get('fn_c')!.tensor)).toEqual([3]);
    expect(same(writeOnnx(m.proto), bytes)).toBe(true); // input untouched
    expect(() => replaceOnnxTensors(m.proto, [{ name: 'w_sparse', graph: '', tensor: f32([1, 1, 1, 1, 1, 1, 1, 1], [2, 4]) }])).toThrow(
      /outside the stored indices/,
    );
    expect(() => replaceOnnxTensors(m.proto, [{ name: 'then_w', graph: '', tensor: f32([1, 2]) }])).toThrow(
      /no weight named 'then_w' in the main graph/,
    );
  });
});
