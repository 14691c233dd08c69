/**
 * A small model built in code that puts weights in every place ONNX allows:
 * typed fields of every kind, raw_data, string_data, a sparse initializer,
 * Constant nodes with each value attribute, If branches, a Loop body nested
 * in a branch, a Scan body, a local function, training info, metadata.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AT,
  ModelProtoSchema,
  type AttributeProtoSchema,
  type GraphProtoSchema,
  type ModelProto,
  type NodeProtoSchema,
  type TensorProtoSchema,
  type ValueInfoProtoSchema,
} from 'onnx-buf';

type AttributeProto = typeof AttributeProtoSchema;
type GraphProto = typeof GraphProtoSchema;
type NodeProto = typeof NodeProtoSchema;
type TensorProto = typeof TensorProtoSchema;
type ValueInfoProto = typeof ValueInfoProtoSchema;
/** The plain-object form `create()` accepts for a message. */
type Init<S extends AttributeProto | GraphProto | NodeProto | TensorProto | ValueInfoProto> = MessageInitShape<S>;

const enc = (s: string) => new TextEncoder().encode(s);

function tensor(name: string, dataType: number, dims: number[], fields: Init<TensorProto>): Init<TensorProto> {
  return { name, dataType, dims: dims.map(BigInt), ...fields };
}

function node(opType: string, name: string, inputs: string[], outputs: string[], attribute: Init<AttributeProto>[] = []): Init<NodeProto> {
  return { opType, name, input: inputs, output: outputs, attribute };
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): Init<ValueInfoProto> {
  return {
    name,
    type: {
      value: {
        case: 'tensorType',
        value: {
          elemType,
          shape: {
            dim: dims.map((d) => ({
              value: typeof d === 'number' ? { case: 'dimValue' as const, value: BigInt(d) } : { case: 'dimParam' as const, value: d },
            })),
          },
        },
      },
    },
  };
}

function constant(name: string, output: string, attr: Init<AttributeProto>): Init<NodeProto> {
  return node('Constant', name, [], [output], [attr]);
}

export const FLOAT = 1;
export const INT64 = 7;

/** Expected weights: name, graph path, location kind, dtype, shape. */
export const EXPECTED_WEIGHTS: [string, string, string, string, number[]][] = [
  ['w_f32_typed', '', 'initializer', 'float32', [2, 2]],
  ['w_f16_in_int32', '', 'initializer', 'float16', [3]],
  ['w_i8', '', 'initializer', 'int8', [3]],
  ['w_i64', '', 'initializer', 'int64', [2]],
  ['w_f64', '', 'initializer', 'float64', [2]],
  ['w_u32', '', 'initializer', 'uint32', [2]],
  ['w_str', '', 'initializer', 'string', [2]],
  ['w_raw', '', 'initializer', 'float32', [64]],
  ['w_int4', '', 'initializer', 'int4', [5]],
  ['w_sparse', '', 'sparse', 'float32', [2, 4]],
  ['c_float', '', 'constant', 'float32', []],
  ['c_floats', '', 'constant', 'float32', [3]],
  ['c_int', '', 'constant', 'int64', []],
  ['c_ints', '', 'constant', 'int64', [2]],
  ['c_string', '', 'constant', 'string', []],
  ['c_tensor', '', 'constant', 'float32', [2]],
  ['c_sparse', '', 'constant', 'float32', [2, 3]],
  ['then_w', 'cond/then_branch', 'initializer', 'float32', [2]],
  ['then_c', 'cond/then_branch', 'constant', 'float32', [1]],
  ['body_w', 'cond/else_branch/Loop_0/body', 'initializer', 'float32', [2]],
  ['scan_c', 'Scan_16/body', 'constant', 'int64', [1]],
  ['fn_c', 'functions/custom.MyFn', 'constant', 'float32', []],
];

export function syntheticModel(irVersion = 9n): ModelProto {
  const raw = new Float32Array(64).map((_, i) => i * 0.5 - 3);
  const thenBranch: Init<GraphProto> = {
    name: 'then',
    node: [
      constant('then_const', 'then_c', { name: 'value', type: AT.TENSOR, t: tensor('', FLOAT, [1], { floatData: [9] }) }),
      node('Add', 'then_add', ['then_w', 'then_c'], ['y_then']),
    ],
    initializer: [tensor('then_w', FLOAT, [2], { rawData: new Uint8Array(Float32Array.of(1, 2).buffer) })],
    output: [valueInfo('y_then', FLOAT, [2])],
  };
  const loopBody: Init<GraphProto> = {
    name: 'body',
    node: [node('Identity', 'id', ['body_w'], ['body_out'])],
    initializer: [tensor('body_w', FLOAT, [2], { floatData: [5, 6] })],
    output: [valueInfo('body_out', FLOAT, [2])],
  };
  const elseBranch: Init<GraphProto> = {
    name: 'else',
    node: [node('Loop', '', ['trip', ''], ['y_else'], [{ name: 'body', type: AT.GRAPH, g: loopBody }])],
    output: [valueInfo('y_else', FLOAT, [2])],
  };
  const scanBody: Init<GraphProto> = {
    name: 'scan',
    node: [constant('', 'scan_c', { name: 'value', type: AT.TENSOR, t: tensor('', INT64, [1], { int64Data: [4n] }) })],
    output: [valueInfo('scan_c', INT64, [1])],
  };
  const graph: Init<GraphProto> = {
    name: 'synthetic',
    docString: 'kept as is',
    node: [
      constant('k1', 'c_float', { name: 'value_float', type: AT.FLOAT, f: 1.5 }),
      constant('k2', 'c_floats', { name: 'value_floats', type: AT.FLOATS, floats: [1, 2, 3] }),
      constant('k3', 'c_int', { name: 'value_int', type: AT.INT, i: -7n }),
      constant('k4', 'c_ints', { name: 'value_ints', type: AT.INTS, ints: [3n, 4n] }),
      constant('k5', 'c_string', { name: 'value_string', type: AT.STRING, s: enc('hello') }),
      constant('k6', 'c_tensor', {
        name: 'value',
        type: AT.TENSOR,
        t: tensor('', FLOAT, [2], { rawData: new Uint8Array(Float32Array.of(-1, 1).buffer) }),
      }),
      constant('k7', 'c_sparse', {
        name: 'sparse_value',
        type: AT.SPARSE_TENSOR,
        sparseTensor: {
          dims: [2n, 3n],
          values: tensor('', FLOAT, [2], { floatData: [7, 8] }),
          indices: tensor('', INT64, [2, 2], { int64Data: [0n, 1n, 1n, 2n] }),
        },
      }),
      node(
        'If',
        'cond',
        ['flag'],
        ['y'],
        [
          { name: 'then_branch', type: AT.GRAPH, g: thenBranch },
          { name: 'else_branch', type: AT.GRAPH, g: elseBranch },
        ],
      ),
      node('Add', '', ['c_float', 'c_float'], ['z']),
      node('Add', '', ['z', 'c_float'], ['z2']),
      node('Add', '', ['z2', 'c_float'], ['z3']),
      node('Add', '', ['z3', 'c_float'], ['z4']),
      node('Add', '', ['z4', 'c_float'], ['z5']),
      node('Add', '', ['z5', 'c_float'], ['z6']),
      node('Add', '', ['z6', 'c_float'], ['z7']),
      node('Add', '', ['z7', 'c_float'], ['z8']),
      node('Scan', '', ['x'], ['s'], [{ name: 'body', type: AT.GRAPH, g: scanBody }]),
      { ...node('MyFn', 'fn_call', ['x'], ['f']), domain: 'custom' },
    ],
    initializer: [
      tensor('w_f32_typed', FLOAT, [2, 2], { floatData: [1, -2, 3.5, 0] }),
      tensor('w_f16_in_int32', 10, [3], { int32Data: [0x3c00, 0xc000, 0x7c00] }),
      tensor('w_i8', 3, [3], { int32Data: [-128, 0, 127] }),
      tensor('w_i64', INT64, [2], { int64Data: [-(2n ** 62n), 5n] }),
      tensor('w_f64', 11, [2], { doubleData: [Math.E, -0] }),
      tensor('w_u32', 12, [2], { uint64Data: [0n, 4294967295n] }),
      tensor('w_str', 8, [2], { stringData: [enc('a'), enc('bc')] }),
      tensor('w_raw', FLOAT, [64], { rawData: new Uint8Array(raw.buffer), docString: 'raw weights' }),
      tensor('w_int4', 22, [5], { int32Data: [0x21, 0x43, 0x0f] }),
    ],
    sparseInitializer: [
      {
        dims: [2n, 4n],
        values: tensor('w_sparse', FLOAT, [3], { floatData: [1, 2, 3] }),
        indices: tensor('w_sparse_idx', INT64, [3], { int64Data: [0n, 5n, 7n] }),
      },
    ],
    input: [
      valueInfo('x', FLOAT, ['N', 4]),
      valueInfo('flag', 9, []),
      valueInfo('trip', INT64, []),
      ...(irVersion < 4n ? [valueInfo('w_raw', FLOAT, [64])] : []),
    ],
    output: [valueInfo('y', FLOAT, [2]), valueInfo('s', INT64, ['?dim' as string, 1])],
  };
  return create(ModelProtoSchema, {
    irVersion,
    producerName: 'modelpress-test',
    producerVersion: '1',
    docString: 'synthetic',
    opsetImport: [
      { domain: '', version: 17n },
      { domain: 'custom', version: 1n },
    ],
    metadataProps: [{ key: 'author', value: 'tests' }],
    graph,
    functions: [
      {
        name: 'MyFn',
        domain: 'custom',
        input: ['a'],
        output: ['b'],
        node: [constant('', 'fn_c', { name: 'value_float', type: AT.FLOAT, f: 0.25 }), node('Mul', '', ['a', 'fn_c'], ['b'])],
        opsetImport: [{ domain: '', version: 17n }],
      },
    ],
    trainingInfo: [{ algorithm: { name: 'train', node: [node('Identity', 'ti', ['x'], ['x2'])] } }],
  } as never);
}
