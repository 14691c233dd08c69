/**
 * What the trainer needs to know about a forward model: its data input and
 * logits output, which initializers train, whether the data fits, and the
 * same graph with weights turned into inputs (so one session evaluates any
 * weights without re-serializing the model).
 */
import type { ModelProto, ValueInfoProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import { cloneModel } from '../../graph/model-edit.js';
import { makeValueInfo, readValueInfo, type Dim } from '../../graph/value-info.js';
import { ONNX_TYPE } from '../../core/dtypes.js';

/** Graph inputs that are not initializers (the data the model consumes). */
export function dataInputs(model: ModelProto): ValueInfoProto[] {
  const graph = requireGraph(model);
  const inits = new Set(graph.initializer.map((t) => t.name));
  return graph.input.filter((v) => !inits.has(v.name));
}

export function requireGraph(model: ModelProto): NonNullable<ModelProto['graph']> {
  if (!model.graph) throw new ModelpressError('E_GRAPH', 'model has no graph');
  return model.graph;
}

export interface ModelIo {
  inputName: string;
  outputName: string;
  /** Declared input shape (first dim is the batch). */
  inputShape: Dim[] | undefined;
}

/** The single data input and the logits output (first graph output unless named). */
export function resolveModelIo(model: ModelProto, opts: { inputName?: string; outputName?: string } = {}, file?: string): ModelIo {
  const inputs = dataInputs(model);
  const graph = requireGraph(model);
  let input: ValueInfoProto | undefined;
  if (opts.inputName !== undefined) {
    input = inputs.find((v) => v.name === opts.inputName);
    if (!input)
      throw new ModelpressError(
        'E_NOT_FOUND',
        `model has no data input '${opts.inputName}' (inputs: ${inputs.map((v) => v.name).join(', ')})`,
        { file },
      );
  } else {
    if (inputs.length !== 1)
      throw new ModelpressError(
        'E_UNSUPPORTED',
        `model has ${inputs.length} data inputs (${inputs.map((v) => v.name).join(', ')}); name the image input`,
        { file },
      );
    input = inputs[0]!;
  }
  const outputName = opts.outputName ?? graph.output[0]?.name;
  if (!outputName || !graph.output.some((o) => o.name === outputName))
    throw new ModelpressError('E_NOT_FOUND', `model has no output '${opts.outputName ?? ''}'`, { file });
  const info = readValueInfo(input);
  if (info && info.elemType !== ONNX_TYPE.float32)
    throw new ModelpressError(
      'E_UNSUPPORTED',
      `model input '${input.name}' has ONNX element type ${info.elemType}, the trainer feeds float32 (type 1)`,
      { file },
    );
  return { inputName: input.name, outputName, inputShape: info?.shape };
}

/**
 * The per-example shape to feed for data with `sampleShape`: the model's
 * declared shape after the batch dim when the element counts agree (so
 * [1,28,28] images feed an [N,784] MLP), else E_SHAPE naming both shapes.
 */
export function fitSampleShape(io: ModelIo, sampleShape: readonly number[], file?: string): number[] {
  const declared = io.inputShape;
  if (!declared) return [...sampleShape];
  const rest = declared.slice(1);
  const size = sampleShape.reduce((a, b) => a * b, 1);
  if (rest.every((d) => typeof d === 'number')) {
    const want = (rest as number[]).reduce((a, b) => a * b, 1);
    if (want === size) return rest as number[];
    throw new ModelpressError(
      'E_SHAPE',
      `data does not fit the model: examples have shape [${sampleShape.join(', ')}] (${size} values), input '${io.inputName}' takes [${declared.map(dimText).join(', ')}] (${want} values per example)`,
      { file },
    );
  }
  if (rest.length === sampleShape.length && rest.every((d, i) => typeof d !== 'number' || d === sampleShape[i])) return [...sampleShape];
  throw new ModelpressError(
    'E_SHAPE',
    `data does not fit the model: examples have shape [${sampleShape.join(', ')}], input '${io.inputName}' takes [${declared.map(dimText).join(', ')}]`,
    { file },
  );
}

function dimText(d: Dim): string {
  return d === null ? '?' : String(d);
}

/** Initializer slots that hold state or constants, not weights: BatchNormalization running statistics, Clip bounds, Pow exponents. */
const NON_TRAINABLE_SLOTS: Record<string, readonly number[]> = {
  BatchNormalization: [3, 4],
  Clip: [1, 2],
  Pow: [1],
};

/** BatchNormalization running mean/var initializers (updated from batch statistics, not by the optimizer). */
export function runningStatNames(model: ModelProto): string[] {
  const graph = requireGraph(model);
  const inits = new Set(graph.initializer.map((t) => t.name));
  const out: string[] = [];
  for (const n of graph.node)
    if (n.opType === 'BatchNormalization') for (const i of [3, 4]) if (n.input[i] && inits.has(n.input[i]!)) out.push(n.input[i]!);
  return out;
}

/**
 * Default trainable set: float32 initializers of rank >= 1 (scalars are
 * constants such as GELU's sqrt(2)) that feed some node outside the slots
 * above.
 */
export function defaultTrainableNames(model: ModelProto): string[] {
  const graph = requireGraph(model);
  const candidates = new Map(
    graph.initializer.filter((t) => t.dataType === ONNX_TYPE.float32 && t.dims.length >= 1).map((t) => [t.name, false]),
  );
  for (const n of graph.node) {
    const excluded = NON_TRAINABLE_SLOTS[n.opType] ?? [];
    n.input.forEach((name, slot) => {
      if (candidates.has(name) && !excluded.includes(slot)) candidates.set(name, true);
    });
  }
  return [...candidates].filter(([, used]) => used).map(([name]) => name);
}

/** A copy of `model` whose initializers `names` are graph inputs instead (same names, dtypes and dims). */
export function withInitializersAsInputs(model: ModelProto, names: readonly string[]): ModelProto {
  const copy = cloneModel(model);
  const graph = requireGraph(copy);
  const wanted = new Set(names);
  const moved = graph.initializer.filter((t) => wanted.has(t.name));
  if (moved.length !== wanted.size) {
    const have = new Set(moved.map((t) => t.name));
    throw new ModelpressError('E_NOT_FOUND', `initializer ${[...wanted].find((n) => !have.has(n))} not found in the graph`);
  }
  graph.initializer = graph.initializer.filter((t) => !wanted.has(t.name));
  const declared = new Set(graph.input.map((v) => v.name));
  for (const t of moved) if (!declared.has(t.name)) graph.input.push(makeValueInfo(t.name, t.dataType, t.dims.map(Number)));
  return copy;
}

/**
 * A copy of `model` whose data input and outputs take any batch size: a fixed
 * first dim (torch.onnx.export without dynamic_axes writes 1) becomes 'N',
 * and intermediate value_info (shape hints recorded for that batch) is
 * dropped. Returns `model` itself when nothing is fixed.
 */
export function withDynamicBatch(model: ModelProto, inputName: string): ModelProto {
  const graph = requireGraph(model);
  const input = graph.input.find((v) => v.name === inputName);
  const first = input ? readValueInfo(input)?.shape?.[0] : undefined;
  if (typeof first !== 'number') return model;
  const copy = cloneModel(model);
  const g = requireGraph(copy);
  const relax = (v: ValueInfoProto): void => {
    if (v.type?.value.case !== 'tensorType') return;
    const dim0 = v.type.value.value.shape?.dim[0];
    if (dim0 && dim0.value.case === 'dimValue' && Number(dim0.value.value) === first) dim0.value = { case: 'dimParam', value: 'N' };
  };
  for (const v of g.input) if (v.name === inputName) relax(v);
  for (const v of g.output) relax(v);
  g.valueInfo = [];
  return copy;
}
