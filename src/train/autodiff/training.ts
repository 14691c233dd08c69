/**
 * buildTrainingGraph: forward graph + loss + gradients of the trainable
 * initializers, as one standard ONNX model the trainer runs each step.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import { GraphBuilder, defaultOpset } from '../../graph/builder.js';
import { cloneModel } from '../../graph/model-edit.js';
import { inferShapes } from '../../graph/shape-inference.js';
import { graphDTypeFromOnnx, readTensorProtoFloat32 } from '../../graph/tensor-proto.js';
import { nodeInputs, topologicalSort } from '../../graph/toposort.js';
import { makeValueInfo, readValueInfo } from '../../graph/value-info.js';
import { appendLoss } from '../losses.js';
import { differentiateGraph, initializersToInputs } from './gradient.js';
import { lowerComposites } from './lower.js';
import { createRuleRegistry, type RuleRegistry } from './registry.js';
import type { DataInput, TrainableParam, TrainingGraph, TrainingGraphOptions } from './types.js';
import { ONNX_TYPE } from '../../core/dtypes.js';

/** Lowest default-domain opset accepted; older models change op semantics when raised. */
export const MIN_OPSET = 13;
/** Opset of the training graph when the model's is lower. */
export const TRAINING_OPSET = 17;

/**
 * Builds the training graph of `model` (not modified). Initializers in
 * `trainable` become graph inputs of the same name; their gradients are
 * outputs named in `params[i].grad`. Throws E_GRAPH when an op on a gradient
 * path has no rule (naming op and node), E_SHAPE when the loss does not fit
 * the output, E_UNSUPPORTED for opset < 13.
 */
export function buildTrainingGraph(
  model: ModelProto,
  opts: TrainingGraphOptions,
  registry: RuleRegistry = createRuleRegistry(),
): TrainingGraph {
  const out = cloneModel(model);
  const graph = out.graph;
  if (!graph) throw new ModelpressError('E_GRAPH', 'model has no graph');
  const srcOpset = defaultOpset(out);
  if (srcOpset < MIN_OPSET)
    throw new ModelpressError('E_UNSUPPORTED', `model opset ${srcOpset} is below ${MIN_OPSET}; convert it to opset >= ${MIN_OPSET} first`);
  const opset = Math.max(srcOpset, TRAINING_OPSET);
  for (const o of out.opsetImport) if (o.domain === '' || o.domain === 'ai.onnx') o.version = BigInt(opset);
  if (out.irVersion < 8n) out.irVersion = 8n;

  const initNames = new Set(graph.initializer.map((t) => t.name));
  const modelInputs = graph.input.filter((v) => !initNames.has(v.name));
  const forwardOutputs = graph.output.map((o) => o.name);
  const output = opts.output ?? forwardOutputs[0];
  if (!output) throw new ModelpressError('E_GRAPH', 'model has no outputs');

  const b = new GraphBuilder(graph);
  const batchNorm = lowerComposites(graph, b, inferShapes(graph), {
    batchNorm: opts.batchNorm ?? 'train',
    dropout: opts.dropout ?? 'train',
    ...(opts.dropoutRatioInput ? { dropoutRatioInput: opts.dropoutRatioInput } : {}),
    opset,
  });
  const dataInputs: DataInput[] = modelInputs.map((v) => {
    const r = readValueInfo(v);
    return { name: v.name, elemType: r?.elemType ?? 0, shape: r?.shape, role: 'model' as const };
  });
  if (opts.dropoutRatioInput && (opts.dropout ?? 'train') === 'train' && graph.node.some((n) => n.opType === 'Dropout')) {
    b.input(opts.dropoutRatioInput, 'float32', []);
    dataInputs.push({ name: opts.dropoutRatioInput, elemType: 1, shape: [], role: 'dropout-ratio' });
  }
  const loss = appendLoss(b, inferShapes(graph), opts.loss, output);
  dataInputs.push(...loss.inputs);

  const trainable = opts.trainable
    ? [...opts.trainable]
    : defaultTrainable(out, loss.loss, new Set(batchNorm.flatMap((s) => [s.runningMean, s.runningVar])));
  const params: TrainableParam[] = trainable.map((name) => {
    const t = graph.initializer.find((x) => x.name === name);
    if (!t) throw new ModelpressError('E_NOT_FOUND', `trainable initializer '${name}' not found`);
    const dt = graphDTypeFromOnnx(t.dataType);
    if (dt !== 'float32' && dt !== 'float64')
      throw new ModelpressError('E_UNSUPPORTED', `trainable initializer '${name}' has elem type ${t.dataType}; only float32/float64 train`);
    return { name, grad: '', dtype: dt, shape: t.dims.map(Number), initial: readTensorProtoFloat32(t) };
  });
  initializersToInputs(graph, trainable);
  const grads = differentiateGraph(graph, opset, { loss: loss.loss, wrt: trainable }, registry);
  for (const p of params) p.grad = grads.get(p.name)!;

  const outputs = new Set(graph.output.map((o) => o.name));
  const shapes = inferShapes(graph);
  for (const s of batchNorm)
    for (const t of [s.batchMean, s.batchVar])
      if (!outputs.has(t)) graph.output.push(makeValueInfo(t, shapes.elemType(t) || 1, shapes.get(t)?.shape));
  removeUnusedInitializers(out);
  return { model: out, params, dataInputs, lossOutput: loss.loss, forwardOutputs, batchNorm };
}

/** Non-scalar float initializers on a path to the loss, except excluded ones (BN running stats). */
function defaultTrainable(model: ModelProto, loss: string, exclude: Set<string>): string[] {
  const graph = model.graph!;
  const ancestors = new Set<string>([loss]);
  const order = topologicalSort(graph);
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    if (n.output.some((o) => ancestors.has(o))) for (const inp of nodeInputs(n)) ancestors.add(inp);
  }
  return graph.initializer
    .filter(
      (t) =>
        (t.dataType === ONNX_TYPE.float32 || t.dataType === ONNX_TYPE.float64) &&
        t.dims.reduce((a, d) => a * Number(d), 1) > 1 &&
        ancestors.has(t.name) &&
        !exclude.has(t.name),
    )
    .map((t) => t.name);
}

/** Drops initializers no node reads and no output names. */
export function removeUnusedInitializers(model: ModelProto): void {
  const graph = model.graph!;
  const used = new Set<string>(graph.output.map((o) => o.name));
  for (const n of graph.node) for (const i of nodeInputs(n)) used.add(i);
  graph.initializer = graph.initializer.filter((t) => used.has(t.name));
  const initNames = new Set(graph.initializer.map((t) => t.name));
  // Inputs that shadow dropped initializers (IR < 4 style) go with them.
  graph.input = graph.input.filter((v) => used.has(v.name) || !initNames.has(v.name));
}

/** ONNX running-statistics update, in place: running = running * momentum + batch * (1 - momentum). */
export function updateRunningStats(running: Float32Array, batch: Float32Array | Float64Array, momentum: number): void {
  if (running.length !== batch.length)
    throw new ModelpressError('E_SHAPE', `running stats have ${running.length} channels, batch stats ${batch.length}`);
  for (let i = 0; i < running.length; i++) running[i] = running[i]! * momentum + batch[i]! * (1 - momentum);
}
