/**
 * A minimal forward-graph assembler for the model zoo, directly on onnx-buf
 * messages (the zoo needs only float32 initializers, a handful of ops and
 * int/ints attributes).
 */
import { create } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProtoSchema,
  TensorProto_DataType,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';

/** Opset the zoo models import (BatchNormalization-15, LayerNormalization-17). */
export const ZOO_OPSET = 17;

export type AttrValue = number | readonly number[] | string;

/** An int attribute for integers, an ints attribute for arrays, float with `{ f }`. */
export function attribute(name: string, value: AttrValue | { f: number }): AttributeProto {
  if (typeof value === 'string')
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(value) });
  if (typeof value === 'number') return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(value) });
  if ('f' in value) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: value.f });
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: value.map((v) => BigInt(v)) });
}

export function floatInitializer(name: string, dims: readonly number[], data: Float32Array): TensorProto {
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return create(TensorProtoSchema, { name, dims: dims.map((d) => BigInt(d)), dataType: TensorProto_DataType.FLOAT, rawData: raw });
}

/** An int64 initializer (shapes, axes and slice bounds of the zoo graphs). */
export function int64Initializer(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  const data = BigInt64Array.from(values, (v) => BigInt(v));
  return create(TensorProtoSchema, {
    name,
    dims: dims.map((d) => BigInt(d)),
    dataType: TensorProto_DataType.INT64,
    rawData: new Uint8Array(data.buffer),
  });
}

export function floatValueInfo(name: string, shape: readonly (number | string)[]): ValueInfoProto {
  return valueInfo(name, TensorProto_DataType.FLOAT, shape);
}

export function int64ValueInfo(name: string, shape: readonly (number | string)[]): ValueInfoProto {
  return valueInfo(name, TensorProto_DataType.INT64, shape);
}

function valueInfo(name: string, elemType: TensorProto_DataType, shape: readonly (number | string)[]): ValueInfoProto {
  const dim = shape.map((d) =>
    create(TensorShapeProto_DimensionSchema, {
      value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d },
    }),
  );
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, { elemType, shape: create(TensorShapeProtoSchema, { dim }) }),
      },
    }),
  });
}

/** Collects nodes and initializers; names nodes `<op>_<k>` unless given. */
export class ZooGraph {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private counter = 0;

  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs: Record<string, AttrValue | { f: number }> = {},
    name?: string,
  ): string {
    this.nodes.push(
      create(NodeProtoSchema, {
        name: name ?? `${opType}_${this.counter++}`,
        opType,
        input: [...inputs],
        output: [...outputs],
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outputs[0]!;
  }

  weight(name: string, dims: readonly number[], data: Float32Array): string {
    this.initializers.push(floatInitializer(name, dims, data));
    return name;
  }

  toModel(opts: { graphName: string; inputs: ValueInfoProto[]; outputs: ValueInfoProto[]; docString?: string }): ModelProto {
    const graph = create(GraphProtoSchema, {
      name: opts.graphName,
      node: this.nodes,
      initializer: this.initializers,
      input: opts.inputs,
      output: opts.outputs,
    });
    return create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: 'modelpress',
      producerVersion: '0.1.0',
      docString: opts.docString ?? '',
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(ZOO_OPSET) })],
      graph,
    });
  }
}
