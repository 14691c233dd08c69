/**
 * Training-graph engine: reverse-mode autodiff over ONNX graphs, executed by
 * onnxruntime (node or web). Browser-safe: no `node:` imports.
 *
 * Typical use (trainer):
 *   const tg = buildTrainingGraph(model, { loss: { kind: 'cross-entropy' } });
 *   const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, tg.model));
 *   each step: feeds = { [p.name]: current weights (p.shape), input: batch, labels: int64 labels }
 *              results = await session.run(feeds)
 *              loss = results[tg.lossOutput]; grads = tg.params.map(p => results[p.grad])
 *              BN: updateRunningStats(running[s.runningMean], results[s.batchMean], s.momentum) ...
 *   write back: setInitializerValues(model, weights) (src/graph/model-edit.ts).
 */
export type {
  LossSpec,
  TrainingGraphOptions,
  TrainableParam,
  DataInput,
  BatchNormStats,
  TrainingGraph,
  FakeQuantSpec,
  GradientGraphOptions,
  GradientGraph,
} from './types.js';
export { buildTrainingGraph, updateRunningStats, removeUnusedInitializers, MIN_OPSET, TRAINING_OPSET } from './training.js';
export { buildGradientGraph, differentiateGraph, initializersToInputs } from './gradient.js';
export { createRuleRegistry, differentiableOps, ruleKey, NON_DIFFERENTIABLE_OPS, type RuleRegistry } from './registry.js';
export { RuleContext, type GradientRule } from './context.js';
export { insertFakeQuant, quantGrid, type FakeQuantResult } from './fake-quant.js';
export { lowerComposites, lowerModel, LOWERED_OPS, type LowerOptions } from './lower.js';
export { appendLoss, type AppendedLoss } from '../losses.js';
export { STE_MARKER } from '../rules/misc.js';
