/**
 * The trainer: seeded shuffling and batching over in-memory data, epochs of
 * onnxruntime training-graph steps followed by TypeScript optimizer updates,
 * evaluation on held-out data each epoch, best checkpoint, early stopping,
 * BatchNormalization running statistics, and the trained weights written back
 * into the original graph. Browser-safe: the runtime is passed in as a
 * RunnerFactory (createNodeRunner, createWebRunner). Hooks let QAT,
 * distillation, pruning and clustering run on this one loop: a substitute
 * training graph, views of the weights to feed (q(w) for fake quantization),
 * extra feeds and extra outputs with a per-step callback.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { cloneModel, getInitializerValues, setInitializerValues } from '../graph/model-edit.js';
import { writeOnnx } from '../formats/onnx/write.js';
import { readValueInfo } from '../graph/value-info.js';
import { classifierLogits, type ClassifierPass, type ClassifierPassOptions } from '../runtime/classifier.js';
import type { Tensor } from '../core/tensor.js';
import { checkDataset, classCount, floatView, sampleCount, type Dataset } from '../data/dataset.js';
import type { RunnerFactory } from '../runtime/runner.js';
import { buildTrainingGraph, updateRunningStats as updateBatchNormStats } from './autodiff/index.js';
import type { LossSpec, TrainingGraph } from './autodiff/types.js';
import { createOptimizer, type OptimizerSpec, type Param, type StepOptimizer } from './optim/index.js';
import { createRng, shuffleInPlace } from '../core/random.js';
import { Evaluator, type EvalResult } from './trainer/evaluate.js';
import {
  defaultTrainableNames,
  fitSampleShape,
  requireGraph,
  resolveModelIo,
  runningStatNames,
  withDynamicBatch,
} from './trainer/model-io.js';
import { StepSession, type BatchFeeds } from './trainer/step-session.js';
import { TRAINING_RUNNER_OPTIONS } from '../runtime/runner.js';
import { floatValues } from '../runtime/tensors.js';

export type { EvalResult } from './trainer/evaluate.js';

export interface EarlyStoppingOptions {
  /** Epochs without a validation-accuracy gain of more than minDelta before stopping. */
  patience: number;
  /** Smallest accuracy gain (fraction, e.g. 0.001 = 0.1 point) that counts; default 0. */
  minDelta?: number;
}

/** Per-step and per-epoch progress for a progress bar. */
export type TrainProgress =
  | { kind: 'step'; epoch: number; epochs: number; step: number; steps: number; loss: number; accuracy: number | undefined }
  | { kind: 'epoch'; record: EpochRecord; epochs: number };

export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch's batches. */
  trainLoss: number;
  /** Training accuracy over the epoch's batches (weights changing during the epoch), in [0, 1]. */
  trainAccuracy: number | undefined;
  validation: EvalResult | undefined;
  /** Wall time of the epoch's training steps, seconds (evaluation excluded). */
  seconds: number;
  /** Wall time of the validation pass, seconds. */
  evalSeconds: number;
  /** Learning-rate factor of the schedule at the epoch's last step. */
  lrFactor: number;
}

export interface TrainOptions {
  /** Opens the training graph and the validation model (createNodeRunner, createWebRunner). */
  openRunner: RunnerFactory;
  /** The forward model (never mutated). */
  model: ModelProto;
  /** Labelled examples (any numeric dtype; read as float32, so scale images before). */
  train: Dataset;
  /** Held-out data evaluated after each epoch (drives the best checkpoint and early stopping). */
  validation?: Dataset;
  /** Number of passes over `train` (>= 1). */
  epochs: number;
  /** Examples per step; default 64. The last batch of an epoch may be smaller. */
  batchSize?: number;
  /** Seed of the shuffling; default 0. */
  seed?: number;
  /** Optimizer by spec (default Adam, lr 1e-3) or a factory (for parameter groups). */
  optimizer?: OptimizerSpec | ((params: Param[]) => StepOptimizer);
  /** Initializers to train; default: float initializers of rank >= 1 except BatchNormalization statistics. */
  trainable?: readonly string[];
  /** Masks (1 train, 0 hold at exactly zero) by parameter name. */
  masks?: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>;
  /** Loss; default softmax cross-entropy on the labels. */
  loss?: LossSpec;
  /** Extra per-batch inputs the loss needs (teacher logits for distillation). */
  batchFeeds?: BatchFeeds;
  /** Stop after this many epochs without improvement of validation accuracy. */
  earlyStopping?: EarlyStoppingOptions;
  /** Return the weights of the best validation epoch instead of the last; default true when validation is given. */
  restoreBest?: boolean;
  /** Data input / logits output names; default the single data input and first output. */
  inputName?: string;
  outputName?: string;
  /** Cap on steps per epoch (benchmarks, smoke runs); default: the whole training set. */
  maxStepsPerEpoch?: number;
  /** Called after the gradients are computed and before the optimizer (e.g. centroid sharing). */
  gradientHook?: (grads: Map<string, Float32Array>, step: number) => void;
  /** Called after each optimizer update with the live weights. */
  afterStep?: (weights: ReadonlyMap<string, Float32Array>, step: number) => void;
  onProgress?: (event: TrainProgress) => void;
  /**
   * The graph to differentiate and validate instead of `model` (given the
   * batch-relaxed model; same initializers): QAT inserts fake quantization
   * and range outputs here. The trained weights still go back into `model`.
   */
  trainingModel?: (model: ModelProto) => ModelProto;
  /**
   * Arrays to feed in place of some live weights (given the live ones, called
   * once): QAT feeds q(w) while the optimizer updates the float shadow w. The
   * caller refreshes them (afterStep); checkpoints keep the live weights.
   */
  weightViews?: (live: ReadonlyMap<string, Float32Array>) => ReadonlyMap<string, Float32Array>;
  /** Inputs fed as they are with every training step and validation batch (read at run time). */
  extraFeeds?: Readonly<Record<string, Tensor>>;
  /** Outputs of the training graph fetched with every step and handed to onStepOutputs. */
  extraOutputs?: readonly string[];
  /** Called after each step's run, before the gradient hook and the optimizer, with the extra outputs. */
  onStepOutputs?: (outputs: Readonly<Record<string, Tensor>>, step: number) => void;
  /** Names the model in error messages. */
  file?: string;
}

export interface TrainResult {
  /** The original graph with the trained weights (and BatchNormalization statistics). */
  model: ModelProto;
  /** Trained values by initializer name (parameters and running statistics). */
  weights: Map<string, Float32Array>;
  history: EpochRecord[];
  /** 1-based epoch whose weights `model` holds; 0 when, without labels, no epoch matched the original better than the start. */
  bestEpoch: number;
  stoppedEarly: boolean;
  /** The training graph that was run. */
  trainingGraph: TrainingGraph;
}

/** Trains `options.model`; see TrainOptions. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { openRunner, file } = options;
  const epochs = options.epochs;
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(epochs) || epochs < 1) throw new ModelpressError('E_ARG', `epochs must be an integer >= 1, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new ModelpressError('E_ARG', `batch size must be an integer >= 1, got ${batchSize}`);
  const loss: LossSpec = options.loss ?? { kind: 'cross-entropy' };
  // Label-free losses (MSE against targets or teacher outputs) train on inputs alone.
  const needsLabels = loss.kind === 'cross-entropy' || (loss.kind === 'distillation' && loss.alpha < 1);
  checkDataset(options.train, 'training data', { labels: needsLabels });
  if (sampleCount(options.train) === 0) throw new ModelpressError('E_ARG', 'training data is empty');
  // Validation picks the best epoch by accuracy with labels; without, by output SNR against its targets (the
  // original model's outputs, which label-free distillation puts there). Data with neither cannot rank epochs.
  const validationTargets = options.validation ? targetValues(options.validation) : undefined;
  const validationData = options.validation && (options.validation.y !== undefined || validationTargets) ? options.validation : undefined;
  if (validationData) checkDataset(validationData, 'validation data', { labels: validationTargets === undefined });
  // The float32 examples the steps and the validation passes batch from, taken once per call.
  const trainSet = floatView(options.train);
  const validationSet = validationData ? floatView(validationData) : undefined;

  const io = resolveModelIo(options.model, { inputName: options.inputName, outputName: options.outputName }, file);
  const feedShape = fitSampleShape(io, trainSet.sampleShape, file);
  // Trains and evaluates a batch-relaxed copy; the weights go back into the original.
  const model = withDynamicBatch(options.model, io.inputName);
  if (validationSet) fitSampleShape(io, validationSet.sampleShape, file);
  if (loss.kind === 'cross-entropy' || (loss.kind === 'distillation' && loss.alpha < 1))
    checkLabelsFitOutput(model, io.outputName, options.train, file);

  const trainable = options.trainable ?? defaultTrainableNames(model);
  if (trainable.length === 0) throw new ModelpressError('E_GRAPH', 'model has no trainable float initializers', { file });
  const graphModel = options.trainingModel ? options.trainingModel(model) : model;
  let graph: TrainingGraph;
  try {
    graph = buildTrainingGraph(graphModel, { loss, trainable, output: io.outputName });
  } catch (e) {
    if (e instanceof ModelpressError && file !== undefined) throw e.withFile(file);
    throw e;
  }

  // Live weights: the optimizer updates these arrays; both sessions read them.
  const weights = new Map<string, Float32Array>();
  const dims = new Map<string, number[]>();
  for (const p of graph.params) {
    weights.set(p.name, Float32Array.from(p.initial));
    dims.set(p.name, p.shape);
  }
  const statNames = runningStatNames(model);
  const statValues = getInitializerValues(model, statNames);
  for (const name of statNames) {
    weights.set(name, statValues.get(name)!);
    dims.set(
      name,
      requireGraph(model)
        .initializer.find((t) => t.name === name)!
        .dims.map(Number),
    );
  }

  const params: Param[] = graph.params.map((p) => ({ name: p.name, data: weights.get(p.name)! }));
  const optimizer =
    typeof options.optimizer === 'function'
      ? options.optimizer(params)
      : createOptimizer(params, options.optimizer ?? { name: 'adam', lr: 1e-3 });
  const masks = options.masks instanceof Map ? [...options.masks] : Object.entries(options.masks ?? {});
  for (const [name, mask] of masks) {
    if (!weights.has(name) || statNames.includes(name))
      throw new ModelpressError('E_NOT_FOUND', `mask given for '${name}', which is not a trainable parameter`, { file });
    optimizer.setMask(name, mask);
  }

  const logitsForAccuracy =
    graph.forwardOutputs.includes(io.outputName) && graph.dataInputs.some((d) => d.role === 'labels') ? io.outputName : undefined;
  const views = options.weightViews?.(weights);
  const fed = new Map([...weights].map(([name, data]) => [name, views?.get(name) ?? data]));
  const where = file === undefined ? {} : { file };
  const step = await StepSession.create(openRunner, graph, fed, {
    inputName: io.inputName,
    feedShape,
    batchSize,
    logits: logitsForAccuracy,
    ...where,
    ...(options.batchFeeds ? { batchFeeds: options.batchFeeds } : {}),
    ...(options.extraFeeds ? { extraFeeds: options.extraFeeds } : {}),
    ...(options.extraOutputs ? { extraOutputs: options.extraOutputs } : {}),
  });
  const evalWeights = new Map([...fed].map(([name, data]) => [name, { data, dims: dims.get(name)! }]));
  let evaluator: Evaluator | undefined;
  try {
    const evalIo = { inputName: io.inputName, outputName: io.outputName, feedShape };
    evaluator = validationSet
      ? await Evaluator.create(openRunner, graphModel, evalWeights, evalIo, {
          ...where,
          ...(options.extraFeeds ? { extraFeeds: options.extraFeeds } : {}),
        })
      : undefined;
  } catch (e) {
    await step.dispose();
    throw e;
  }

  const rng = createRng(options.seed ?? 0);
  const order = new Uint32Array(trainSet.count);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const stepsPerEpoch = Math.min(Math.ceil(order.length / batchSize), options.maxStepsPerEpoch ?? Infinity);
  const history: EpochRecord[] = [];
  const restoreBest = options.restoreBest ?? evaluator !== undefined;
  let best: { epoch: number; accuracy: number; weights: Map<string, Float32Array> } | undefined;
  let sinceBest = 0;
  let stoppedEarly = false;
  let globalStep = 0;
  // The score that ranks epochs: accuracy with labels, output SNR (dB) against the targets without.
  const score = (v: EvalResult): number => (validationTargets ? (v.snrDb ?? Number.NEGATIVE_INFINITY) : v.accuracy);

  try {
    // Without labels the starting weights compete too (epoch 0): fine-tuning a model that already matches the
    // original well (a least-squares reconstruction) can only lower the match, and then the start is kept.
    if (evaluator && validationTargets) {
      const start = await evaluator.evaluate(validationSet!, validationTargets);
      best = { epoch: 0, accuracy: score(start), weights: copyWeights(weights) };
    }
    for (let epoch = 1; epoch <= epochs; epoch++) {
      shuffleInPlace(order, rng);
      const started = now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let lrFactor = 1;
      for (let s = 0; s < stepsPerEpoch; s++) {
        const start = s * batchSize;
        const size = Math.min(batchSize, order.length - start);
        const out = await step.run(trainSet, order.subarray(start, start + size), size);
        if (!Number.isFinite(out.loss))
          throw new ModelpressError(
            'E_ARG',
            `training diverged: loss is ${out.loss} at epoch ${epoch}, step ${s + 1} (lower the learning rate)`,
            { file },
          );
        options.onStepOutputs?.(out.extra, globalStep);
        options.gradientHook?.(out.grads, globalStep);
        lrFactor = optimizer.step(out.grads).lrFactor;
        updateRunningStats(graph, weights, out.stats);
        globalStep++;
        options.afterStep?.(weights, globalStep);
        lossSum += out.loss * size;
        seen += size;
        if (out.correct !== undefined) correct += out.correct;
        options.onProgress?.({
          kind: 'step',
          epoch,
          epochs,
          step: s + 1,
          steps: stepsPerEpoch,
          loss: lossSum / seen,
          accuracy: logitsForAccuracy ? correct / seen : undefined,
        });
      }
      const seconds = (now() - started) / 1000;
      const evalStarted = now();
      const validation = evaluator ? await evaluator.evaluate(validationSet!, validationTargets) : undefined;
      const record: EpochRecord = {
        epoch,
        trainLoss: lossSum / seen,
        trainAccuracy: logitsForAccuracy ? correct / seen : undefined,
        validation,
        seconds,
        evalSeconds: (now() - evalStarted) / 1000,
        lrFactor,
      };
      history.push(record);
      options.onProgress?.({ kind: 'epoch', record, epochs });
      if (validation) {
        const minDelta = options.earlyStopping?.minDelta ?? 0;
        if (!best || score(validation) > best.accuracy + minDelta) {
          best = { epoch, accuracy: score(validation), weights: copyWeights(weights) };
          sinceBest = 0;
        } else if (++sinceBest >= (options.earlyStopping?.patience ?? Infinity)) {
          stoppedEarly = epoch < epochs;
          break;
        }
      }
    }
  } finally {
    await step.dispose();
    await evaluator?.dispose();
  }

  const finalWeights = restoreBest && best ? best.weights : copyWeights(weights);
  const trained = cloneModel(options.model);
  setInitializerValues(trained, finalWeights);
  return {
    model: trained,
    weights: finalWeights,
    history,
    bestEpoch: restoreBest && best ? best.epoch : history.length,
    stoppedEarly,
    trainingGraph: graph,
  };
}

/** Evaluates `model` (its own initializers) on `data`: accuracy and mean cross-entropy. */
export async function evaluateModel(
  openRunner: RunnerFactory,
  model: ModelProto,
  data: Dataset,
  opts: ClassifierOptions = {},
): Promise<EvalResult> {
  checkDataset(data, 'evaluation data', { labels: true });
  const r = await runClassifier(openRunner, model, data, opts, { strictLabels: true });
  return { accuracy: r.accuracy, loss: r.loss, count: r.count };
}

export interface DatasetLogits {
  /** count x classes values, example after example. */
  logits: Float32Array;
  /** Values per example. */
  classes: number;
  /** The output's shape after the batch dim: [classes] for logits, e.g. [1, 1, 96] for an embedding (unlabelled data). */
  outputShape: number[];
  /** Fraction of examples whose arg-max logit is the label. */
  accuracy: number;
}

/** Logits of `model` on every example of `data`, in order (teacher logits for distillation); batches of 1000 unless given. */
export async function datasetLogits(
  openRunner: RunnerFactory,
  model: ModelProto,
  data: Dataset,
  opts: ClassifierOptions = {},
): Promise<DatasetLogits> {
  checkDataset(data, 'data');
  const r = await runClassifier(openRunner, model, data, opts, { keepLogits: true });
  return { logits: r.logits!, classes: r.classes, outputShape: r.outputShape, accuracy: r.accuracy };
}

export interface ClassifierOptions {
  inputName?: string;
  outputName?: string;
  batchSize?: number;
  file?: string;
}

async function runClassifier(
  openRunner: RunnerFactory,
  model: ModelProto,
  data: Dataset,
  opts: ClassifierOptions,
  pass: ClassifierPassOptions,
): Promise<ClassifierPass> {
  const where = opts.file === undefined ? {} : { file: opts.file };
  const io = resolveModelIo(model, opts, opts.file);
  const view = floatView(data);
  const feedShape = fitSampleShape(io, view.sampleShape, opts.file);
  if (pass.strictLabels) checkLabelsFitOutput(model, io.outputName, data, opts.file);
  const runner = await openRunner(writeOnnx(withDynamicBatch(model, io.inputName)), { ...TRAINING_RUNNER_OPTIONS, ...where });
  try {
    return await classifierLogits(
      runner,
      view,
      { inputName: io.inputName, outputName: io.outputName, feedShape },
      { ...pass, ...where, ...(opts.batchSize === undefined ? {} : { batchSize: opts.batchSize }) },
    );
  } catch (e) {
    throw e instanceof ModelpressError && opts.file !== undefined ? e.withFile(opts.file) : e;
  } finally {
    await runner.dispose();
  }
}

/** running = running * momentum + batch * (1 - momentum), per BatchNormalization node. */
function updateRunningStats(graph: TrainingGraph, weights: Map<string, Float32Array>, stats: Map<string, Float32Array>): void {
  for (const b of graph.batchNorm) {
    for (const [runningName, batchName] of [
      [b.runningMean, b.batchMean],
      [b.runningVar, b.batchVar],
    ] as const) {
      const running = weights.get(runningName);
      const batch = stats.get(batchName);
      if (!running || !batch) continue;
      updateBatchNormStats(running, batch, b.momentum);
    }
  }
}

/** Labels must index the model's output classes: E_SHAPE when the output is not [N, C] or a label is >= C. */
function checkLabelsFitOutput(model: ModelProto, outputName: string, data: Dataset, file: string | undefined): void {
  const out = requireGraph(model).output.find((o) => o.name === outputName);
  const shape = out ? readValueInfo(out)?.shape : undefined;
  if (!shape) return;
  if (shape.length !== 2)
    throw new ModelpressError(
      'E_SHAPE',
      `cross-entropy needs logits [N, classes], but output '${outputName}' has shape [${shape.map((d) => d ?? '?').join(', ')}]`,
      { file },
    );
  const classes = shape[1];
  const needed = classCount(data);
  if (typeof classes === 'number' && needed > classes) {
    throw new ModelpressError(
      'E_SHAPE',
      `labels go up to ${needed - 1}, but output '${outputName}' has only ${classes} classes (shape [${shape.map((d) => d ?? '?').join(', ')}])`,
      { file },
    );
  }
}

function copyWeights(weights: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...weights].map(([k, v]) => [k, v.slice()]));
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

/** The validation set's single target array as float32 values (examples in order), if it has one. */
function targetValues(ds: Dataset): Float32Array | undefined {
  if (ds.y !== undefined || !ds.targets) return undefined;
  const all = Object.values(ds.targets);
  if (all.length !== 1) return undefined;
  return floatValues(all[0]!, 'validation targets');
}
