/**
 * Light static shape/dtype inference for the ops modelpress builds and
 * differentiates, by the type and shape rules of the op-traits table
 * (op-traits.ts). Unknown dims are null, unknown ranks undefined; rules that
 * need a rank throw a clear error when it cannot be inferred, everything else
 * falls back to run-time Shape ops.
 */
import type { GraphProto, NodeProto, TensorProto } from 'onnx-buf';
import { opTraitsOf, outputTypes, smallIntValues, type ShapeCtx } from './op-traits.js';
import { topologicalSort } from './toposort.js';
import { readValueInfo, type Dim } from './value-info.js';

export interface TensorInfo {
  /** ONNX elem type; 0 when unknown. */
  elemType: number;
  /** Dims; undefined when the rank is unknown. */
  shape: Dim[] | undefined;
}

export class ShapeInfo {
  readonly info = new Map<string, TensorInfo>();
  /** Values of small constant integer tensors (initializers, Constant nodes, Shape of static dims). */
  readonly constants = new Map<string, number[]>();

  get(name: string): TensorInfo | undefined {
    return this.info.get(name);
  }
  rank(name: string): number | undefined {
    return this.info.get(name)?.shape?.length;
  }
  elemType(name: string): number {
    return this.info.get(name)?.elemType ?? 0;
  }
  /** Static dims if every dim is a known number. */
  staticShape(name: string): number[] | undefined {
    const s = this.info.get(name)?.shape;
    return s?.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
  }
  set(name: string, elemType: number, shape: Dim[] | undefined): void {
    if (!name) return;
    const prev = this.info.get(name);
    // Declared value_info wins over inference when it is more precise.
    if (prev?.shape && (!shape || prev.shape.every((d) => d !== null))) {
      if (!prev.elemType) prev.elemType = elemType;
      return;
    }
    this.info.set(name, { elemType: elemType || prev?.elemType || 0, shape });
  }
}

/** Infers shapes and dtypes of every tensor of `graph` it can. */
export function inferShapes(graph: GraphProto): ShapeInfo {
  const si = new ShapeInfo();
  for (const t of graph.initializer) {
    si.info.set(t.name, { elemType: t.dataType, shape: t.dims.map(Number) });
    recordConstant(si, t);
  }
  for (const v of [...graph.input, ...graph.valueInfo, ...graph.output]) {
    if (si.info.has(v.name)) continue;
    const r = readValueInfo(v);
    if (r && (r.shape || r.elemType)) si.info.set(v.name, { elemType: r.elemType, shape: r.shape });
  }
  for (const n of topologicalSort(graph)) {
    try {
      inferNode(si, n);
    } catch {
      // Inference is best effort: a rule that needs the missing info says so.
    }
  }
  return si;
}

function recordConstant(si: ShapeInfo, t: TensorProto): void {
  const v = smallIntValues(t);
  if (v) si.constants.set(t.name, v);
}

export { broadcastDims } from './op-traits.js';

/**
 * Sets the outputs of `n` from its op traits: types by the type rule; shapes
 * by the shape rule (only the outputs it gives), or every output of unknown
 * shape for an op without one. Looked up by op type in any domain: same-named
 * ops of other domains (com.microsoft's Gelu, QuantizeLinear ...) have the
 * default domain's shapes.
 */
function inferNode(si: ShapeInfo, n: NodeProto): void {
  const traits = opTraitsOf(n.opType);
  const types = outputTypes(
    n,
    traits,
    (t) => si.elemType(t),
    () => new Map([...si.info].map(([k, v]) => [k, v.elemType])),
  );
  const typeAt = (i: number): number => types[i] ?? types[0] ?? 0;
  if (!traits.shape) {
    n.output.forEach((o, i) => {
      si.set(o, typeAt(i), undefined);
    });
    return;
  }
  const ctx: ShapeCtx = {
    node: n,
    shape: (i) => (n.input[i] ? si.get(n.input[i]!)?.shape : undefined),
    constant: (i) => (n.input[i] ? si.constants.get(n.input[i]!) : undefined),
    setConstant: (o, values) => {
      if (n.output[o]) si.constants.set(n.output[o]!, values);
    },
  };
  traits.shape(ctx).forEach((shape, i) => {
    if (n.output[i]) si.set(n.output[i]!, typeAt(i), shape);
  });
}
