import { toBinary, fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ModelpressError } from '../../src/core/errors.js';
import { GraphBuilder, makeModel, defaultOpset } from '../../src/graph/builder.js';
import { constantsToInitializers, getInitializerValues, setInitializerValues } from '../../src/graph/model-edit.js';
import { NameGen } from '../../src/graph/names.js';
import { inferShapes } from '../../src/graph/shape-inference.js';
import { makeTensorProto, readTensorProtoNumbers } from '../../src/graph/tensor-proto.js';
import { topologicalSort } from '../../src/graph/toposort.js';

describe('graph builder', () => {
  it('makes unique names, caches constants, and builds a model onnxruntime runs', async () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', ['batch', 3]);
    const w = b.initializer('w', 'float32', [3, 2], [1, 0, 0, 1, 1, 1]);
    const h = b.op('MatMul', ['x', w]);
    const h2 = b.op('Relu', [b.op('Add', [h, b.scalar(-1)])]);
    expect(b.scalar(-1)).toBe(b.scalar(-1));
    b.node('Identity', [h2], { outputs: ['y'] });
    b.output('y', 'float32', ['batch', 2]);
    const names = b.graph.node.map((n) => n.name);
    expect(new Set(names).size).toBe(names.length);
    const model = makeModel(b.graph);
    expect(defaultOpset(model)).toBe(17);
    const bytes = toBinary(ModelProtoSchema, model);
    expect(fromBinary(ModelProtoSchema, bytes).graph!.node).toHaveLength(4);
    const s = await ort.InferenceSession.create(bytes);
    const r = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]) });
    expect(Array.from(r.y!.data as Float32Array)).toEqual([3, 4, 9, 10]);
  });

  it('NameGen never repeats a name', () => {
    const g = new NameGen(['a', 'a_1']);
    expect(g.fresh('a')).toBe('a_2');
    expect(g.fresh('b')).toBe('b');
    expect(g.fresh('b')).toBe('b_1');
  });

  it('tensor protos round-trip float, double, int64 values', () => {
    expect(Array.from(readTensorProtoNumbers(makeTensorProto('t', 'float64', [3], [1.5, -2, 1e-300])))).toEqual([1.5, -2, 1e-300]);
    expect(Array.from(readTensorProtoNumbers(makeTensorProto('t', 'int64', [2], [-7, 9])))).toEqual([-7, 9]);
    expect(() => makeTensorProto('t', 'float32', [2, 2], [1, 2, 3])).toThrow(ModelpressError);
  });

  it('setInitializerValues replaces values and checks lengths', () => {
    const b = new GraphBuilder();
    b.initializer('w', 'float32', [2], [1, 2]);
    const m = makeModel(b.graph);
    setInitializerValues(m, { w: Float32Array.from([3, 4]) });
    expect(Array.from(getInitializerValues(m, ['w']).get('w')!)).toEqual([3, 4]);
    expect(() => setInitializerValues(m, { w: Float32Array.from([1]) })).toThrow(/has 2 elements/);
    expect(() => setInitializerValues(m, { nope: Float32Array.from([1]) })).toThrow(/not found/);
  });
});

describe('constantsToInitializers', () => {
  it('moves float Constant nodes to initializers of the same name, leaving int constants', async () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', [2]);
    b.node('Constant', [], { outputs: ['w'], attrs: { value: { tensor: makeTensorProto('', 'float32', [2], [3, 4]) } } });
    b.node('Constant', [], { outputs: ['shape'], attrs: { value: { tensor: makeTensorProto('', 'int64', [1], [2]) } } });
    b.node('Reshape', [b.op('Mul', ['x', 'w']), 'shape'], { outputs: ['y'] });
    b.output('y', 'float32', [2]);
    const m = makeModel(b.graph);
    expect(constantsToInitializers(m)).toEqual(['w']);
    expect(m.graph!.node.filter((n) => n.opType === 'Constant')).toHaveLength(1);
    expect(Array.from(getInitializerValues(m, ['w']).get('w')!)).toEqual([3, 4]);
    const s = await ort.InferenceSession.create(toBinary(ModelProtoSchema, m));
    const r = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2]), [2]) });
    expect(Array.from(r.y!.data as Float32Array)).toEqual([3, 8]);
    expect(() => constantsToInitializers(m, ['nope'])).toThrow(/nope/);
  });
});

describe('topological sort', () => {
  it('orders nodes after their producers and rejects cycles', () => {
    const b = new GraphBuilder();
    b.node('Relu', ['h'], { outputs: ['y'], name: 'second' });
    b.node('Relu', ['x'], { outputs: ['h'], name: 'first' });
    expect(topologicalSort(b.graph).map((n) => n.name)).toEqual(['first', 'second']);
    b.graph.node[1]!.input[0] = 'y';
    expect(() => topologicalSort(b.graph)).toThrow(/cycle/);
  });
});

describe('shape inference', () => {
  it('propagates static and symbolic dims through a LeNet-like graph', () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', ['N', 1, 28, 28]);
    const w = b.initializer('w', 'float32', [20, 1, 5, 5], new Float32Array(500));
    const c = b.op('Conv', ['x', w]);
    const p = b.op('MaxPool', [c], { kernel_shape: [2, 2], strides: [2, 2] });
    const f = b.op('Flatten', [p], { axis: 1 });
    const r = b.op('Reshape', [p, b.int64s([0, -1])]);
    const t = b.op('Transpose', [p], { perm: [0, 2, 3, 1] });
    const mm = b.op('MatMul', [t, b.initializer('m', 'float32', [20, 7], new Float32Array(140))]);
    const red = b.op('ReduceMean', [mm], { axes: [1, 2], keepdims: 0 });
    const si = inferShapes(b.graph);
    expect(si.get(c)!.shape).toEqual(['N', 20, 24, 24]);
    expect(si.get(p)!.shape).toEqual(['N', 20, 12, 12]);
    expect(si.get(f)!.shape).toEqual(['N', 2880]);
    expect(si.get(r)!.shape).toEqual(['N', 2880]);
    expect(si.get(mm)!.shape).toEqual(['N', 12, 12, 7]);
    expect(si.get(red)!.shape).toEqual(['N', 7]);
    expect(si.elemType(red)).toBe(1);
  });
});
