/**
 * Reading and making ONNX node attributes. Readers take the spec default, so
 * rules read `intAttr(node, 'group', 1)` like the op schema says.
 */
import { create } from '@bufbuild/protobuf';
import { AttributeProtoSchema, AttributeProto_AttributeType, type AttributeProto, type NodeProto, type TensorProto } from 'onnx-buf';

/** Attribute values the builder accepts; numbers are INT when integral unless listed in `floats`. */
export type AttrValue =
  | { int: number }
  | { float: number }
  | { string: string }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { tensor: TensorProto };

/** Shorthand attribute map: plain numbers are INT, use `{ float }` for FLOAT. */
export type Attrs = Record<string, number | string | readonly number[] | AttrValue | undefined>;

export function makeAttribute(name: string, value: Exclude<Attrs[string], undefined>): AttributeProto {
  const a = create(AttributeProtoSchema, { name });
  if (typeof value === 'number') {
    a.type = AttributeProto_AttributeType.INT;
    a.i = BigInt(Math.trunc(value));
  } else if (typeof value === 'string') {
    a.type = AttributeProto_AttributeType.STRING;
    a.s = new TextEncoder().encode(value);
  } else if (Array.isArray(value)) {
    a.type = AttributeProto_AttributeType.INTS;
    a.ints = (value as number[]).map((v) => BigInt(Math.trunc(v)));
  } else {
    const v = value as AttrValue;
    if ('int' in v) {
      a.type = AttributeProto_AttributeType.INT;
      a.i = BigInt(Math.trunc(v.int));
    } else if ('float' in v) {
      a.type = AttributeProto_AttributeType.FLOAT;
      a.f = v.float;
    } else if ('string' in v) {
      a.type = AttributeProto_AttributeType.STRING;
      a.s = new TextEncoder().encode(v.string);
    } else if ('ints' in v) {
      a.type = AttributeProto_AttributeType.INTS;
      a.ints = v.ints.map((x) => BigInt(Math.trunc(x)));
    } else if ('floats' in v) {
      a.type = AttributeProto_AttributeType.FLOATS;
      a.floats = [...v.floats];
    } else {
      a.type = AttributeProto_AttributeType.TENSOR;
      a.t = v.tensor;
    }
  }
  return a;
}

export function makeAttributes(attrs: Attrs | undefined): AttributeProto[] {
  if (!attrs) return [];
  const out: AttributeProto[] = [];
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) out.push(makeAttribute(k, v));
  return out;
}

export function findAttr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

export function intAttr(node: NodeProto, name: string, dflt: number): number {
  const a = findAttr(node, name);
  return a ? Number(a.i) : dflt;
}

export function floatAttr(node: NodeProto, name: string, dflt: number): number {
  const a = findAttr(node, name);
  return a ? a.f : dflt;
}

export function stringAttr(node: NodeProto, name: string, dflt: string): string {
  const a = findAttr(node, name);
  return a ? new TextDecoder().decode(a.s) : dflt;
}

export function intsAttr(node: NodeProto, name: string): number[] | undefined {
  const a = findAttr(node, name);
  return a ? a.ints.map(Number) : undefined;
}

export function floatsAttr(node: NodeProto, name: string): number[] | undefined {
  const a = findAttr(node, name);
  return a ? [...a.floats] : undefined;
}
