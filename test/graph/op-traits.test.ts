import { create } from '@bufbuild/protobuf';
import { AttributeProto_AttributeType, AttributeProtoSchema, GraphProtoSchema, NodeProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { ONNX_TYPE } from '../../src/core/dtypes.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { inferElemTypes, opsWhere, opTraits, opTraitsOf, OP_TYPES } from '../../src/graph/op-traits.js';
import { inferShapes } from '../../src/graph/shape-inference.js';
import { makeValueInfo } from '../../src/graph/value-info.js';
import { DEFAULT_FP32_OPS } from '../../src/quantize/fp16.js';
import { weightRole } from '../../src/graph/weights.js';

describe('op traits', () => {
  it('type rules: comparisons are bool, index ops int64, Cast reads `to`, unknown ops follow their first input', () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', [2, 3]);
    const eq = b.op('Equal', ['x', 'x']);
    const am = b.op('ArgMax', ['x'], { axis: 1 });
    const c = b.op('Cast', ['x'], { to: ONNX_TYPE.float16 });
    const [top, idx] = b.node('TopK', ['x', b.int64s([2])], { outputs: 2 });
    const custom = b.op('Frobnicate', ['x']);
    const types = inferElemTypes(b.graph, new Map());
    expect(types.get(eq)).toBe(ONNX_TYPE.bool);
    expect(types.get(am)).toBe(ONNX_TYPE.int64);
    expect(types.get(c)).toBe(ONNX_TYPE.float16);
    expect(types.get(top!)).toBe(ONNX_TYPE.float32);
    expect(types.get(idx!)).toBe(ONNX_TYPE.int64);
    expect(types.get(custom)).toBe(ONNX_TYPE.float32);
  });

  it('shape inference and type inference read the same type rules', () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', [4, 5]);
    const ys = [
      b.op('Less', ['x', 'x']),
      b.op('ReduceMax', ['x'], { axes: [1], keepdims: 0 }),
      b.op('Shape', ['x']),
      b.op('Where', [b.op('Not', [b.op('Less', ['x', 'x'])]), 'x', 'x']),
    ];
    const si = inferShapes(b.graph);
    const types = inferElemTypes(b.graph, new Map());
    for (const y of ys) expect(si.elemType(y), y).toBe(types.get(y));
    expect(si.staticShape(ys[1]!)).toEqual([4]);
    expect(si.constants.get(ys[2]!)).toEqual([4, 5]);
  });

  it('If takes its output types from the then branch', () => {
    const then = create(GraphProtoSchema, {
      name: 'then',
      node: [create(NodeProtoSchema, { opType: 'Shape', input: ['x'], output: ['s'] })],
      output: [makeValueInfo('s', 0)],
    });
    const branch = create(AttributeProtoSchema, { name: 'then_branch', type: AttributeProto_AttributeType.GRAPH, g: then });
    const node = create(NodeProtoSchema, { opType: 'If', input: ['c'], output: ['y'], attribute: [branch] });
    const types = inferElemTypes(
      create(GraphProtoSchema, { node: [node] }),
      new Map([
        ['x', ONNX_TYPE.float32],
        ['c', ONNX_TYPE.bool],
      ]),
    );
    expect(types.get('y')).toBe(ONNX_TYPE.int64);
  });

  it('looks up default-domain ops only through a node', () => {
    expect(opTraits(create(NodeProtoSchema, { opType: 'Equal', domain: 'com.example' }))).toEqual({});
    expect(opTraits(create(NodeProtoSchema, { opType: 'Equal', domain: '' })).gradient).toBe('none');
    expect(opTraitsOf('NoSuchOp')).toEqual({});
    expect(OP_TYPES).toContain('MatMul');
  });

  it('float16 traits: Loop/Scan kept, Resize scales float32, type attributes named; DEFAULT_FP32_OPS from noKernel', () => {
    expect(opsWhere((t) => t.float16?.keepFloat32 === true)).toEqual(['Loop', 'Scan']);
    expect(opTraitsOf('Resize').float16?.float32Inputs).toEqual([2]);
    expect(opTraitsOf('Upsample').float16?.float32Inputs).toEqual([1]);
    expect(opTraitsOf('Cast').float16?.typeAttr).toBe('to');
    expect(opsWhere((t) => t.float16?.typeAttr === 'dtype')).toEqual([
      'EyeLike',
      'Multinomial',
      'RandomNormal',
      'RandomNormalLike',
      'RandomUniform',
      'RandomUniformLike',
    ]);
    expect(DEFAULT_FP32_OPS).toEqual(opsWhere((t) => t.float16?.noKernel === true));
  });

  it('weight inputs agree with the weight roles quantization assigns', () => {
    const rankOf: Record<string, number> = { Conv: 4, ConvTranspose: 4, Gemm: 2, MatMul: 2, Gather: 2, LSTM: 3, GRU: 3, RNN: 3 };
    const withWeights = opsWhere((t) => t.weightInputs !== undefined);
    expect(withWeights).toEqual(Object.keys(rankOf).sort());
    for (const op of withWeights) {
      const node = create(NodeProtoSchema, { opType: op, input: ['a', 'b', 'c'] });
      for (const i of [0, 1, 2]) {
        const role = weightRole({ node, label: op, path: '', graph: create(GraphProtoSchema), inputIndex: i }, rankOf[op]!);
        expect(role !== undefined, `${op} input ${i}`).toBe(opTraitsOf(op).weightInputs!.includes(i));
      }
    }
  });
});
