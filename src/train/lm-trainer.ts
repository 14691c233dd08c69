/**
 * Language-model training: next-token cross-entropy on [N, T] int64 token
 * windows, differentiated by the same reverse-mode engine as the classifiers
 * (buildTrainingGraph with the loss written into the graph), Adam steps in
 * TypeScript, and held-out cross-entropy in bits per token from the forward
 * model. Browser-safe: the runtime comes in as a RunnerFactory.
 *
 * Loss: logits [N, T, V] at positions 0..T-2 against the ids at 1..T-1,
 * mean over the N * (T - 1) predictions, in nats.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { createRng } from '../core/random.js';
import type { Tensor } from '../core/tensor.js';
import { writeOnnx } from '../formats/onnx/write.js';
import { GraphBuilder } from '../graph/builder.js';
import { cloneModel, setInitializerValues } from '../graph/model-edit.js';
import type { RunnerFactory } from '../runtime/runner.js';
import { TRAINING_RUNNER_OPTIONS } from '../runtime/runner.js';
import { floatTensor, floatValues, int64Tensor } from '../runtime/tensors.js';
import { buildTrainingGraph } from './autodiff/index.js';
import type { TrainingGraph } from './autodiff/types.js';
import { createOptimizer, type OptimizerSpec } from './optim/index.js';
import { cosineLr, linearWarmup, type LrSchedule } from './schedules.js';

/** Name of the loss tensor appended to the forward graph. */
export const NEXT_TOKEN_LOSS = 'next_token_loss';

/** Token windows: ids [count, T] (row-major). */
export interface TokenWindows {
  ids: Int32Array;
  count: number;
  length: number;
}

export type LmProgress = { kind: 'step'; step: number; steps: number; loss: number } | { kind: 'eval'; step: number; heldOut: number };

export interface LmTrainOptions {
  openRunner: RunnerFactory;
  model: ModelProto;
  train: TokenWindows;
  /** Held-out windows, evaluated every `evalEvery` steps and at the end. */
  heldOut?: TokenWindows;
  /** Optimizer steps (>= 1). */
  steps: number;
  /** Windows per step; default 16. */
  batchSize?: number;
  /** Adam learning rate; default 3e-3, with linear warm-up then cosine decay to 10%. */
  lr?: number;
  /** Warm-up steps; default min(100, steps / 10). */
  warmupSteps?: number;
  /** Global gradient-norm clip; default 1. */
  maxGradNorm?: number;
  /** Optimizer (name, weight decay, momentum); default Adam. Its lr and clip are `lr` and `maxGradNorm`. */
  optimizer?: Omit<OptimizerSpec, 'lr' | 'maxGradNorm' | 'schedule'>;
  /** Learning-rate factor per step instead of the default warm-up + cosine. */
  schedule?: LrSchedule;
  /** Seed of the batch sampling; default 0. */
  seed?: number;
  /** Steps between held-out evaluations (0: only at the end); default 0. */
  evalEvery?: number;
  /** Cap on held-out windows evaluated; default all. */
  heldOutLimit?: number;
  inputName?: string;
  outputName?: string;
  onProgress?: (event: LmProgress) => void;
  file?: string;
}

export interface LmTrainResult {
  model: ModelProto;
  /** Mean training loss (nats per token) per step. */
  losses: number[];
  /** Held-out cross-entropy, nats per token, at the end (undefined without held-out data). */
  heldOutLoss: number | undefined;
  /** (step, nats per token) of every held-out evaluation. */
  heldOutHistory: { step: number; loss: number }[];
  seconds: number;
  trainingGraph: TrainingGraph;
}

/** Bits per token of a cross-entropy in nats. */
export function bitsPerToken(nats: number): number {
  return nats / Math.LN2;
}

/** The forward model with the next-token loss appended as tensor NEXT_TOKEN_LOSS (the model is not modified). */
export function withNextTokenLoss(model: ModelProto, inputName: string, outputName: string): ModelProto {
  const out = cloneModel(model);
  const b = new GraphBuilder(out.graph!);
  const axis1 = b.int64s([1]);
  const logits = b.op('Slice', [outputName, b.int64s([0]), b.int64s([-1]), axis1], undefined, 'lm_loss_logits');
  const targets = b.op('Slice', [inputName, axis1, b.int64s([Number.MAX_SAFE_INTEGER]), axis1], undefined, 'lm_loss_targets');
  const logProbs = b.op('LogSoftmax', [logits], { axis: -1 }, 'lm_loss_log_softmax');
  const picked = b.op(
    'GatherElements',
    [logProbs, b.op('Unsqueeze', [targets, b.int64s([2])], undefined, 'lm_loss_t3')],
    { axis: 2 },
    'lm_loss_pick',
  );
  const mean = b.op('ReduceMean', [picked], { keepdims: 0 }, 'lm_loss_mean');
  b.node('Neg', [mean], { outputs: [NEXT_TOKEN_LOSS], name: 'lm_loss/Neg' });
  return out;
}

function ioNames(model: ModelProto, opts: { inputName?: string; outputName?: string }): { input: string; output: string } {
  const g = model.graph;
  if (!g) throw new ModelpressError('E_GRAPH', 'model has no graph');
  const inits = new Set(g.initializer.map((t) => t.name));
  const input = opts.inputName ?? g.input.find((v) => !inits.has(v.name))?.name;
  const output = opts.outputName ?? g.output[0]?.name;
  if (!input || !output) throw new ModelpressError('E_GRAPH', 'language model needs a token-id input and a logits output');
  return { input, output };
}

function checkWindows(w: TokenWindows, what: string, file: string | undefined): void {
  if (w.count < 1 || w.length < 2 || w.ids.length !== w.count * w.length)
    throw new ModelpressError(
      'E_ARG',
      `${what}: need >= 1 window of >= 2 tokens (got ${w.count} x ${w.length})`,
      file === undefined ? {} : { file },
    );
}

/** Trains a language model on token windows; see LmTrainOptions. */
export async function trainLanguageModel(options: LmTrainOptions): Promise<LmTrainResult> {
  const { openRunner, file, steps } = options;
  const where = file === undefined ? {} : { file };
  if (!Number.isInteger(steps) || steps < 1) throw new ModelpressError('E_ARG', `steps must be an integer >= 1, got ${steps}`);
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new ModelpressError('E_ARG', `batch size must be an integer >= 1, got ${batchSize}`);
  checkWindows(options.train, 'training data', file);
  if (options.heldOut) checkWindows(options.heldOut, 'held-out data', file);
  const io = ioNames(options.model, options);
  const lossModel = withNextTokenLoss(options.model, io.input, io.output);
  let graph: TrainingGraph;
  try {
    graph = buildTrainingGraph(lossModel, { loss: { kind: 'output', name: NEXT_TOKEN_LOSS } });
  } catch (e) {
    throw e instanceof ModelpressError && file !== undefined ? e.withFile(file) : e;
  }
  const weights = new Map<string, Float32Array>();
  const feeds: Record<string, Tensor> = {};
  for (const p of graph.params) {
    const data = Float32Array.from(p.initial);
    weights.set(p.name, data);
    feeds[p.name] = floatTensor(data, p.shape);
  }
  const lr = options.lr ?? 3e-3;
  const warmup = options.warmupSteps ?? Math.min(100, Math.floor(steps / 10));
  const cosine = cosineLr({ totalSteps: Math.max(1, steps - warmup), minFactor: 0.1 });
  const optimizer = createOptimizer(
    graph.params.map((p) => ({ name: p.name, data: weights.get(p.name)! })),
    {
      name: 'adam',
      ...options.optimizer,
      lr,
      maxGradNorm: options.maxGradNorm ?? 1,
      schedule: options.schedule ?? linearWarmup(warmup, cosine),
    },
  );
  const T = options.train.length;
  const batch = new BigInt64Array(batchSize * T);
  const rng = createRng(options.seed ?? 0);
  const fetches = [graph.lossOutput, ...graph.params.map((p) => p.grad)];
  const losses: number[] = [];
  const heldOutHistory: { step: number; loss: number }[] = [];
  const started = now();
  const runner = await openRunner(writeOnnx(graph.model), { ...TRAINING_RUNNER_OPTIONS, generated: 'the training graph', ...where });
  const evaluate = async (): Promise<number> => {
    const trained = cloneModel(options.model);
    setInitializerValues(trained, weights);
    return heldOutCrossEntropy(openRunner, trained, options.heldOut!, { ...io, limit: options.heldOutLimit, file });
  };
  try {
    for (let s = 0; s < steps; s++) {
      for (let k = 0; k < batchSize; k++) {
        const w = Math.floor(rng.next() * options.train.count);
        const src = options.train.ids.subarray(w * T, (w + 1) * T);
        for (let t = 0; t < T; t++) batch[k * T + t] = BigInt(src[t]!);
      }
      feeds[io.input] = int64Tensor(batch, [batchSize, T]);
      const out = await runner.run(feeds, fetches);
      const loss = Number(floatValues(out[graph.lossOutput]!)[0]);
      if (!Number.isFinite(loss))
        throw new ModelpressError('E_ARG', `training diverged: loss is ${loss} at step ${s + 1} (lower the learning rate)`, where);
      const grads = new Map<string, Float32Array>();
      for (const p of graph.params) grads.set(p.name, floatValues(out[p.grad]!));
      optimizer.step(grads);
      losses.push(loss);
      options.onProgress?.({ kind: 'step', step: s + 1, steps, loss });
      const every = options.evalEvery ?? 0;
      if (options.heldOut && every > 0 && (s + 1) % every === 0 && s + 1 < steps) {
        const h = await evaluate();
        heldOutHistory.push({ step: s + 1, loss: h });
        options.onProgress?.({ kind: 'eval', step: s + 1, heldOut: h });
      }
    }
  } finally {
    await runner.dispose();
  }
  const seconds = (now() - started) / 1000;
  let heldOutLoss: number | undefined;
  if (options.heldOut) {
    heldOutLoss = await evaluate();
    heldOutHistory.push({ step: steps, loss: heldOutLoss });
    options.onProgress?.({ kind: 'eval', step: steps, heldOut: heldOutLoss });
  }
  const model = cloneModel(options.model);
  setInitializerValues(model, weights);
  return { model, losses, heldOutLoss, heldOutHistory, seconds, trainingGraph: graph };
}

/**
 * Mean next-token cross-entropy (nats per token) of `model` on windows: the
 * logits at positions 0..T-2 against the ids at 1..T-1, log-softmax in float64.
 */
export async function heldOutCrossEntropy(
  openRunner: RunnerFactory,
  model: ModelProto,
  data: TokenWindows,
  opts: { input?: string; output?: string; limit?: number | undefined; batchSize?: number; file?: string | undefined } = {},
): Promise<number> {
  const io = ioNames(model, { ...(opts.input ? { inputName: opts.input } : {}), ...(opts.output ? { outputName: opts.output } : {}) });
  const where = opts.file === undefined ? {} : { file: opts.file };
  const count = Math.min(data.count, opts.limit ?? data.count);
  const T = data.length;
  const bs = opts.batchSize ?? 16;
  const runner = await openRunner(writeOnnx(model), { ...TRAINING_RUNNER_OPTIONS, ...where });
  let sum = 0;
  let n = 0;
  try {
    for (let start = 0; start < count; start += bs) {
      const size = Math.min(bs, count - start);
      const ids = new BigInt64Array(size * T);
      for (let i = 0; i < size * T; i++) ids[i] = BigInt(data.ids[start * T + i]!);
      const out = await runner.run({ [io.input]: int64Tensor(ids, [size, T]) }, [io.output]);
      const logits = floatValues(out[io.output]!);
      const V = logits.length / (size * T);
      for (let k = 0; k < size; k++)
        for (let t = 0; t + 1 < T; t++) {
          const off = (k * T + t) * V;
          let max = -Infinity;
          for (let v = 0; v < V; v++) max = Math.max(max, logits[off + v]!);
          let z = 0;
          for (let v = 0; v < V; v++) z += Math.exp(logits[off + v]! - max);
          const target = data.ids[(start + k) * T + t + 1]!;
          sum += Math.log(z) + max - logits[off + target]!;
          n++;
        }
    }
  } finally {
    await runner.dispose();
  }
  return sum / n;
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
