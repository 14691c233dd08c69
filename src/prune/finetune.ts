/**
 * Pruning while fine-tuning: the trainer runs with the pruning masks held by
 * the optimizer (pruned weights stay exactly zero through every update). For
 * gradual schedules (iterative, polynomial) the masks are recomputed from the
 * live weights as the target sparsity rises, then held. Browser-safe: the
 * onnxruntime module is passed in.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { constantsToInitializers, cloneModel } from '../graph/model-edit.js';
import type { RunnerFactory } from '../runtime/runner.js';
import { createOptimizer, type OptimizerSpec, type StepOptimizer } from '../train/optim/index.js';
import { train, type EarlyStoppingOptions, type TrainProgress, type TrainResult } from '../train/trainer.js';
import { sampleCount, type Dataset } from '../data/dataset.js';
import type { BatchFeeds } from '../train/trainer/step-session.js';
import type { LossSpec } from '../train/autodiff/types.js';
import { makeSchedule, type ScheduleName } from './schedule.js';
import { chooseMasks, eligibleWeights, pruneUnstructured, type UnstructuredMethod, type UnstructuredPruneResult } from './unstructured.js';
import type { WeightFilter } from './select.js';

/** What both pruning fine-tuners (unstructured masks, channel masks) train with. */
export interface FinetuneRunOptions {
  openRunner: RunnerFactory;
  /** Number of equal increments of the iterative schedule; default 4. */
  stages?: number;
  /** Fraction of the fine-tuning steps over which a gradual schedule ramps up; default 0.75. */
  rampFraction?: number;
  /** Polynomial schedule: recompute the masks every this many steps; default 50. */
  maskUpdateEvery?: number;
  train: Dataset;
  validation?: Dataset;
  epochs: number;
  /** Default 64. */
  batchSize?: number;
  /** Default 0. */
  seed?: number;
  /** Default Adam, lr 1e-3 (measured better than 1e-4 for recovering from pruning). */
  optimizer?: OptimizerSpec;
  /** Loss; default cross-entropy (use 'distillation' with `batchFeeds` from teacherFeeds). */
  loss?: LossSpec;
  /** Extra per-batch inputs of the loss (teacher logits). */
  batchFeeds?: BatchFeeds;
  onProgress?: (e: TrainProgress) => void;
  file?: string;
}

/** The train() options FinetuneRunOptions give, with `batchSize` resolved. */
export function finetuneTrainOptions(o: FinetuneRunOptions, batchSize: number) {
  return {
    openRunner: o.openRunner,
    train: o.train,
    ...(o.validation ? { validation: o.validation } : {}),
    epochs: o.epochs,
    batchSize,
    seed: o.seed ?? 0,
    ...(o.loss ? { loss: o.loss } : {}),
    ...(o.batchFeeds ? { batchFeeds: o.batchFeeds } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.file === undefined ? {} : { file: o.file }),
  };
}

export interface PruneFinetuneOptions extends FinetuneRunOptions {
  /** The unpruned model (not modified). Constant-node weights are moved to initializers. */
  model: ModelProto;
  method: UnstructuredMethod;
  /** How the sparsity reaches its target over the fine-tuning steps; default 'oneshot'. */
  schedule?: ScheduleName;
  filter?: WeightFilter;
  earlyStopping?: EarlyStoppingOptions;
  maxStepsPerEpoch?: number;
  /**
   * One-shot only: start from this pruning of `model` (its masks held)
   * instead of pruning it here, e.g. after layer-wise reconstruction
   * (reconstruct.ts) refitted the kept weights.
   */
  pruned?: UnstructuredPruneResult;
}

export interface PruneFinetuneResult {
  /** The fine-tuned pruned model. */
  model: ModelProto;
  /** The final masks by weight name. */
  masks: Map<string, Uint8Array>;
  /** The one-shot pruning of the start model (layer report, skipped weights) — the masks before fine-tuning moved them. */
  initial: UnstructuredPruneResult;
  train: TrainResult;
  /** (step, sparsity) whenever the masks were recomputed. */
  maskUpdates: { step: number; sparsity: number }[];
}

function withTarget(method: UnstructuredMethod, sparsity: number): UnstructuredMethod {
  if (method.kind === 'magnitude' || method.kind === 'global') return { kind: method.kind, sparsity };
  throw new ModelpressError('E_ARG', `a gradual schedule needs a target sparsity: use method magnitude or global, not ${method.kind}`);
}

/** Prunes `model` by `method` while fine-tuning it; see PruneFinetuneOptions. */
export async function pruneAndFinetune(o: PruneFinetuneOptions): Promise<PruneFinetuneResult> {
  const schedule = o.schedule ?? 'oneshot';
  const start = cloneModel(o.model);
  constantsToInitializers(start);
  if (o.pruned && schedule !== 'oneshot')
    throw new ModelpressError('E_ARG', `a given pruning (after reconstruction) needs schedule oneshot, not ${schedule}`);
  const initial = o.pruned ?? pruneUnstructured(start, o.method, o.filter);
  const batchSize = o.batchSize ?? 64;
  const stepsPerEpoch = Math.min(Math.ceil(sampleCount(o.train) / batchSize), o.maxStepsPerEpoch ?? Infinity);
  const totalSteps = stepsPerEpoch * o.epochs;
  const spec: OptimizerSpec = o.optimizer ?? { name: 'adam', lr: 1e-3 };
  const maskUpdates: { step: number; sparsity: number }[] = [];
  const common = {
    ...finetuneTrainOptions(o, batchSize),
    ...(o.earlyStopping ? { earlyStopping: o.earlyStopping } : {}),
    ...(o.maxStepsPerEpoch === undefined ? {} : { maxStepsPerEpoch: o.maxStepsPerEpoch }),
  };

  if (schedule === 'oneshot') {
    maskUpdates.push({
      step: 0,
      sparsity: initial.layers.reduce((a, l) => a + l.zerosAfter, 0) / initial.layers.reduce((a, l) => a + l.params, 0),
    });
    const result = await train({ ...common, model: initial.model, optimizer: spec, masks: initial.masks });
    return { model: result.model, masks: initial.masks, initial, train: result, maskUpdates };
  }

  if (o.method.kind !== 'magnitude' && o.method.kind !== 'global')
    throw new ModelpressError(
      'E_ARG',
      `schedule ${schedule} needs a target sparsity: use method magnitude or global, not ${o.method.kind}`,
    );
  const target = o.method.sparsity;
  const sparsityAt = makeSchedule(schedule, target, {
    totalSteps,
    ...(o.stages === undefined ? {} : { stages: o.stages }),
    ...(o.rampFraction === undefined ? {} : { rampFraction: o.rampFraction }),
  });
  const eligible = eligibleWeights(start, o.method, o.filter).weights;
  const names = eligible.map((w) => w.name);
  const shapes = new Map(eligible.map((w) => [w.name, { shape: w.shape, axis: w.role.reductionAxis }]));
  // Polynomial targets change every step: recompute every `every` steps. Iterative ones change k times: follow them.
  const every = schedule === 'polynomial' ? (o.maskUpdateEvery ?? 50) : 0;
  let optimizer: StepOptimizer | undefined;
  const masks = new Map<string, Uint8Array>();
  let current = -1;
  let lastUpdate = -Infinity;
  const update = (weights: ReadonlyMap<string, Float32Array>, step: number, force: boolean): void => {
    const s = sparsityAt(step);
    if (s === current || (!force && step - lastUpdate < every && s !== target)) return;
    const layers = names.map((n) => ({ values: weights.get(n)!, shape: shapes.get(n)!.shape, reductionAxis: shapes.get(n)!.axis }));
    const results = chooseMasks(layers, withTarget(o.method, s));
    names.forEach((n, i) => {
      masks.set(n, results[i]!.mask);
      optimizer!.setMask(n, results[i]!.mask);
    });
    current = s;
    lastUpdate = step;
    maskUpdates.push({ step, sparsity: s });
  };
  const result = await train({
    ...common,
    model: start,
    // Best-epoch restore would pick weights from before the ramp ends (lower sparsity): keep the last.
    restoreBest: false,
    optimizer: (params) => {
      optimizer = createOptimizer(params, spec);
      const live = new Map(params.map((p) => [p.name, p.data]));
      update(live, 0, true);
      return optimizer;
    },
    afterStep: (weights, step) => update(weights, step, false),
  });
  if (current !== target)
    throw new ModelpressError('E_ARG', `the schedule did not reach sparsity ${target} (reached ${current}); use more steps`);
  return { model: result.model, masks, initial, train: result, maskUpdates };
}
