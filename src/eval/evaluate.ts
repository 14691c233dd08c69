/**
 * The evaluation loop: runs a model (and optionally a reference on the same
 * feeds) over a feed source in batches, accumulating classification metrics
 * and fidelity, then measures latency at batch 1 and batch B with warm-up.
 * Browser-safe: timing and memory probes are injected.
 */
import { ModelpressError } from '../core/errors.js';
import { toFloat32, typedView, type Tensor } from '../core/tensor.js';
import { formatShape, type IoInfo, type Runner } from '../runtime/runner.js';
import type { FeedSource } from './feeds.js';
import { FidelityAccumulator, type FidelityStats } from './fidelity.js';
import { findStatePairs, type StatePair } from './inputs.js';
import {
  argmax,
  classificationReport,
  confusionMatrix,
  inTopK,
  latencyStats,
  type ClassificationReport,
  type LatencyStats,
} from './metrics.js';

export interface EvaluateOptions {
  /** Samples per run; default 64 (capped by what the model and source allow). */
  batchSize?: number;
  /** Output holding class scores [batch, classes]; default the first output. */
  classOutput?: string;
  /** k of top-k accuracy; default 5 (reported only when there are more than k classes). */
  topK?: number;
  /** A reference model run on the same feeds, for fidelity. */
  reference?: Runner;
  /** Recurrent state carried between runs; default: pairs found by name (h→hn). */
  state?: readonly StatePair[];
  /** Latency runs after the pass; false skips. Defaults: 3 warm-up runs (also before the pass; 1 when false), 20 timed runs per batch size. */
  latency?: { warmup?: number; runs?: number } | false;
  /** Called after each batch with samples done so far. */
  onProgress?: (done: number, total: number) => void;
  /** Called after every model run (e.g. to sample resident memory). */
  afterRun?: () => void;
  /** Clock in milliseconds; default performance.now. */
  now?: () => number;
}

export interface ClassificationResult {
  readonly output: string;
  readonly classes: number;
  /** Top-1 class per sample (lowest index on ties). */
  readonly predictions: Int32Array;
  /** Present when the data has labels. */
  readonly report: ClassificationReport | undefined;
  readonly confusion: number[][] | undefined;
  readonly topK: { k: number; accuracy: number } | undefined;
}

export interface EvaluationResult {
  readonly source: string;
  readonly samples: number;
  readonly batchSize: number;
  readonly runs: number;
  readonly outputs: readonly IoInfo[];
  /** The inputs as fed for one sample/run. */
  readonly inputs: FeedSource['inputs'];
  /** Present when the class output is [batch, classes]. */
  readonly classification: ClassificationResult | undefined;
  /** Per output (matched by name, else by position), present with a reference. */
  readonly fidelity: readonly FidelityStats[] | undefined;
  /** Samples per second of model run time during the pass. */
  readonly throughput: number;
  readonly latency: LatencyStats | undefined;
  readonly latencyBatch: (LatencyStats & { batchSize: number }) | undefined;
}

export async function evaluate(runner: Runner, source: FeedSource, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  const now = options.now ?? (() => performance.now());
  const batchSize = Math.max(1, Math.min(options.batchSize ?? 64, source.maxBatch, source.count || 1));
  const state = options.state ?? findStatePairs(runner.inputs, runner.outputs);
  const classOutputName = options.classOutput ?? runner.outputs[0]?.name;
  if (options.classOutput && !runner.outputs.some((o) => o.name === options.classOutput)) {
    throw new ModelpressError(
      'E_ARG',
      `model has no output '${options.classOutput}'; outputs: ${runner.outputs.map((o) => o.name).join(', ')}`,
    );
  }
  const reference = options.reference;
  const refNames = reference ? matchOutputs(runner.outputs, reference.outputs) : undefined;
  const fidelity = new Map<string, FidelityAccumulator>();
  let predictions: Int32Array | undefined;
  let classes = 0;
  let topKHits = 0;
  const k = options.topK ?? 5;
  const labels = source.labels;
  let modelState: Record<string, Tensor> | undefined;
  let refState: Record<string, Tensor> | undefined;
  let runTime = 0;
  let runs = 0;
  // Untimed runs first (model and reference), so session warm-up (allocations, arena growth, thread start) does not count as throughput.
  const warmup = options.latency === false ? 1 : (options.latency?.warmup ?? 3);
  if (source.count > 0) {
    const first = withState(source.feeds(0, batchSize), undefined, state);
    for (let i = 0; i < Math.max(1, warmup); i++) await runner.run(first);
    if (reference) await reference.run(first);
  }
  for (let start = 0; start < source.count; start += batchSize) {
    const end = Math.min(source.count, start + batchSize);
    const feeds = source.feeds(start, end);
    const t0 = now();
    const out = await runner.run(withState(feeds, modelState, state));
    runTime += now() - t0;
    runs++;
    options.afterRun?.();
    modelState = carryState(out, state);
    const scores = classOutputName ? out[classOutputName] : undefined;
    if (scores && scores.shape.length === 2 && scores.shape[0] === end - start) {
      classes ||= scores.shape[1]!;
      predictions ??= new Int32Array(source.count);
      const values = asNumbers(scores);
      const c = scores.shape[1]!;
      for (let i = 0; i < end - start; i++) {
        predictions[start + i] = argmax(values, i * c, c);
        if (labels) {
          const label = labels[start + i]!;
          if (label >= c)
            throw new ModelpressError(
              'E_SHAPE',
              `label ${label} of sample ${start + i} is outside the ${c} classes of output '${classOutputName}' ${formatShape(scores.shape)}`,
            );
          if (inTopK(values, i * c, c, label, k)) topKHits++;
        }
      }
    } else if (labels) {
      throw new ModelpressError(
        'E_SHAPE',
        `the data has labels but output '${classOutputName}' is ${scores ? formatShape(scores.shape) : 'missing'}, not [batch, classes] class scores; choose one with --output`,
      );
    }
    if (reference && refNames) {
      const refOut = await reference.run(withState(feeds, refState, state));
      refState = carryState(refOut, state);
      for (const [name, refName] of refNames) {
        const mine = out[name];
        const theirs = refOut[refName];
        if (!mine || !theirs) continue;
        if (mine.shape.join() !== theirs.shape.join())
          throw new ModelpressError(
            'E_SHAPE',
            `output '${name}' is ${formatShape(mine.shape)} but the reference's '${refName}' is ${formatShape(theirs.shape)}`,
          );
        let acc = fidelity.get(name);
        if (!acc) fidelity.set(name, (acc = new FidelityAccumulator(name, classAxis(mine.shape))));
        acc.add(asNumbers(theirs), asNumbers(mine));
      }
    }
    options.onProgress?.(end, source.count);
  }
  let classification: ClassificationResult | undefined;
  if (predictions && classOutputName) {
    const confusion = labels ? confusionMatrix(labels.subarray(0, source.count), predictions, classes) : undefined;
    classification = {
      output: classOutputName,
      classes,
      predictions,
      report: confusion ? classificationReport(confusion) : undefined,
      confusion,
      topK: labels && classes > k ? { k, accuracy: topKHits / source.count } : undefined,
    };
  }
  let latency: LatencyStats | undefined;
  let latencyBatch: (LatencyStats & { batchSize: number }) | undefined;
  if (options.latency !== false && source.count > 0) {
    const timed = options.latency?.runs ?? 20;
    latency = await timeRuns(runner, withState(source.feeds(0, 1), undefined, state), warmup, timed, now, options.afterRun);
    if (batchSize > 1) {
      latencyBatch = {
        ...(await timeRuns(runner, withState(source.feeds(0, batchSize), undefined, state), warmup, timed, now, options.afterRun)),
        batchSize,
      };
    }
  }
  return {
    source: source.name,
    samples: source.count,
    batchSize,
    runs,
    outputs: runner.outputs,
    inputs: source.inputs,
    classification,
    fidelity: reference ? [...fidelity.values()].map((a) => a.result()) : undefined,
    throughput: runTime > 0 ? source.count / (runTime / 1000) : 0,
    latency,
    latencyBatch,
  };
}

async function timeRuns(
  runner: Runner,
  feeds: Record<string, Tensor>,
  warmup: number,
  runs: number,
  now: () => number,
  afterRun?: () => void,
): Promise<LatencyStats> {
  for (let i = 0; i < warmup; i++) await runner.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = now();
    await runner.run(feeds);
    times.push(now() - t0);
    afterRun?.();
  }
  return latencyStats(times);
}

/** A tensor's values as numbers without copying float32 data. */
function asNumbers(t: Tensor): ArrayLike<number> {
  return t.dtype === 'float32' || t.dtype === 'float64' ? (typedView(t) as Float32Array) : toFloat32(t);
}

/** The class axis size for agreement: last axis of [N, C] or [N, T, C] outputs with C ≥ 2; else 0. */
function classAxis(shape: readonly number[]): number {
  return (shape.length === 2 || shape.length === 3) && shape[shape.length - 1]! >= 2 ? shape[shape.length - 1]! : 0;
}

/** Pairs model outputs with reference outputs by name, falling back to position when the names differ. */
function matchOutputs(mine: readonly IoInfo[], theirs: readonly IoInfo[]): Map<string, string> {
  const names = new Set(theirs.map((o) => o.name));
  const byName = mine.every((o) => names.has(o.name));
  const pairs = new Map<string, string>();
  mine.forEach((o, i) => {
    const ref = byName ? o.name : theirs[i]?.name;
    if (ref) pairs.set(o.name, ref);
  });
  return pairs;
}

function withState(
  feeds: Record<string, Tensor>,
  state: Record<string, Tensor> | undefined,
  pairs: readonly StatePair[],
): Record<string, Tensor> {
  if (!state || pairs.length === 0) return feeds;
  const out = { ...feeds };
  for (const p of pairs) {
    const s = state[p.input];
    if (s && feeds[p.input] && s.shape.join() === feeds[p.input]!.shape.join()) out[p.input] = s;
  }
  return out;
}

function carryState(out: Record<string, Tensor>, pairs: readonly StatePair[]): Record<string, Tensor> | undefined {
  if (pairs.length === 0) return undefined;
  const state: Record<string, Tensor> = {};
  for (const p of pairs) if (out[p.output]) state[p.input] = out[p.output]!;
  return state;
}
