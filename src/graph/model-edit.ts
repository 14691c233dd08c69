/** Copying models and reading/writing initializer values by name. */
import { clone } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProtoSchema, type GraphProto, type ModelProto, type TensorProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { makeTensorProto, readTensorProtoNumbers, graphDTypeFromOnnx } from './tensor-proto.js';
import { ONNX_TYPE } from '../core/dtypes.js';

/** A deep copy of `model`. */
export function cloneModel(model: ModelProto): ModelProto {
  return clone(ModelProtoSchema, model);
}

/** Float values of the named initializers of `model`'s main graph (as Float32Array). */
export function getInitializerValues(model: ModelProto, names: readonly string[]): Map<string, Float32Array> {
  const byName = new Map((model.graph?.initializer ?? []).map((t) => [t.name, t]));
  const out = new Map<string, Float32Array>();
  for (const n of names) {
    const t = byName.get(n);
    if (!t) throw new ModelpressError('E_NOT_FOUND', `initializer ${n} not found in the graph`);
    out.set(n, Float32Array.from(readTensorProtoNumbers(t)));
  }
  return out;
}

/**
 * Replaces the values of named initializers in place (same name, dims and
 * dtype; float32 or float64 storage). Throws E_SHAPE when a length differs.
 */
export function setInitializerValues(
  model: ModelProto,
  values: ReadonlyMap<string, Float32Array | Float64Array> | Record<string, Float32Array | Float64Array>,
): void {
  const entries = values instanceof Map ? [...values.entries()] : Object.entries(values);
  const graph = model.graph;
  if (!graph) throw new ModelpressError('E_GRAPH', 'model has no graph');
  for (const [name, v] of entries) {
    const i = graph.initializer.findIndex((t) => t.name === name);
    if (i < 0) throw new ModelpressError('E_NOT_FOUND', `initializer ${name} not found in the graph`);
    const old = graph.initializer[i]!;
    const dims = old.dims.map(Number);
    const count = dims.reduce((a, b) => a * b, 1);
    if (v.length !== count) throw new ModelpressError('E_SHAPE', `initializer ${name} has ${count} elements, got ${v.length} values`);
    const dt = graphDTypeFromOnnx(old.dataType);
    if (dt !== 'float32' && dt !== 'float64') throw new ModelpressError('E_UNSUPPORTED', `initializer ${name} is not float32/float64`);
    const fresh = makeTensorProto(name, dt, dims, v);
    fresh.docString = old.docString;
    graph.initializer[i] = fresh;
  }
}

/**
 * Moves the `value` tensor of each Constant node of `graph` (not its
 * subgraphs) that `accept` takes into `graph.initializer` under the node's
 * output name, removing the node. onnxruntime treats both the same, but a
 * Constant costs a node around its tensor. `copy` clones the tensor instead
 * of moving the message. Returns the names moved.
 */
export function hoistConstantNodes(
  graph: GraphProto,
  accept: (name: string, t: TensorProto) => boolean = () => true,
  copy = false,
): string[] {
  const moved: string[] = [];
  graph.node = graph.node.filter((n) => {
    if (n.opType !== 'Constant' || (n.domain !== '' && n.domain !== 'ai.onnx') || n.output.length !== 1) return true;
    const out = n.output[0]!;
    const t = n.attribute.find((a) => a.name === 'value')?.t;
    if (!out || !t || !accept(out, t)) return true;
    const init = copy ? clone(TensorProtoSchema, t) : t;
    init.name = out;
    graph.initializer.push(init);
    moved.push(out);
    return false;
  });
  return moved;
}

/**
 * Turns Constant nodes whose `value` is a float tensor into initializers of
 * the same name (in place), so they can be trained, pruned or clustered like
 * ordinary weights. `names` limits it to those outputs; returns the names moved.
 */
export function constantsToInitializers(model: ModelProto, names?: readonly string[]): string[] {
  const graph = model.graph;
  if (!graph) throw new ModelpressError('E_GRAPH', 'model has no graph');
  const wanted = names ? new Set(names) : undefined;
  const moved = hoistConstantNodes(
    graph,
    (name, t) => (!wanted || wanted.has(name)) && (t.dataType === ONNX_TYPE.float32 || t.dataType === ONNX_TYPE.float64),
    true,
  );
  if (wanted)
    for (const n of wanted)
      if (!moved.includes(n) && !graph.initializer.some((t) => t.name === n))
        throw new ModelpressError('E_NOT_FOUND', `no float Constant node or initializer named ${n}`);
  return moved;
}
