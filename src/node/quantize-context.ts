/**
 * What `modelpress quantize` hands the schemes that run models: calibration
 * batches made from a --calib data spec (or seeded random inputs), and an
 * onnxruntime-node runner factory. Lives in src/node because it reads files
 * and opens native sessions; the schemes themselves stay browser-safe.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { typedView, type Tensor } from '../core/tensor.js';
import { measureOutputErrors, noiseRatioToDb } from '../compress/sensitivity.js';
import { evaluate } from '../eval/evaluate.js';
import { writeOnnx } from '../formats/onnx/write.js';
import { compactNames } from '../graph/compact-names.js';
import { findWeights } from '../graph/weights.js';
import {
  allocate,
  allocationChain,
  autoCandidates,
  buildMixed,
  planAt,
  AUTO_PRECISIONS,
  fillSlack,
  type AllocTensor,
  type Allocation,
  type AutoPrecision,
} from '../quantize/auto.js';
import type { SchemeResult } from '../quantize/types.js';
import { limitSamples, sampleCount, selectSamples } from '../data/dataset.js';
import { datasetSource, randomSource, type FeedSource } from '../eval/feeds.js';
import type { CalibrationFeed, QuantizeOptions } from '../quantize/index.js';
import type { RunnerFactory } from '../runtime/runner.js';
import { isRandomSpec, loadDataSpec, parseDataSpec } from './datasets.js';
import type { LoadedModel } from './load.js';
import { createNodeRunner } from './ort-runner.js';

export interface QuantizeContextFlags {
  readonly calib?: string | undefined;
  readonly calibSize?: number | undefined;
  readonly dataDir?: string | undefined;
  /** Values of symbolic input dims (`--dim name=value`, parsed by the CLI). */
  readonly dims?: Readonly<Record<string, number>> | undefined;
}

function toFeed(feeds: Record<string, import('../core/tensor.js').Tensor>): CalibrationFeed {
  const out: Record<string, CalibrationFeed[string]> = {};
  for (const [name, t] of Object.entries(feeds)) {
    out[name] = { dtype: t.dtype, shape: t.shape, data: typedView(t) as CalibrationFeed[string]['data'] };
  }
  return out;
}

/** Calibration batches (of up to 32 samples) from a source, `limit` samples in all. */
function batchesOf(source: FeedSource, limit: number): CalibrationFeed[] {
  const total = Math.min(limit, source.count);
  const step = Math.max(1, Math.min(32, source.maxBatch));
  const out: CalibrationFeed[] = [];
  for (let start = 0; start < total; start += step) out.push(toFeed(source.feeds(start, Math.min(total, start + step))));
  return out;
}

/** Samples of --calib data held back from calibration for the fidelity guard. */
export const HOLDOUT_SIZE = 64;

/**
 * The options `quantizeModel` needs to run models for `flags`: the onnxruntime-node runner factory and, with
 * --calib, the calibration batches, the source they came from (`--scheme auto` measures sensitivity on its first
 * samples) and the held-back samples. `log`, when given, hears one progress line (the caller decides whether to show it).
 */
export async function quantizeContext(
  model: LoadedModel,
  flags: QuantizeContextFlags,
  log?: (line: string) => void,
): Promise<{ options: Partial<QuantizeOptions> & { openRunner: RunnerFactory }; holdout?: FeedSource; source?: FeedSource }> {
  const openRunner: RunnerFactory = (m, o) => createNodeRunner(m, o);
  const options: Partial<QuantizeOptions> & { openRunner: RunnerFactory } = { openRunner };
  if (flags.calib === undefined) return { options };
  const dims = { ...flags.dims };
  const size = flags.calibSize ?? 256;
  const runner = await createNodeRunner(model.onnx!.bytes, { file: model.path });
  let source: FeedSource;
  let holdout: FeedSource | undefined;
  try {
    if (isRandomSpec(flags.calib)) {
      source = randomSource(runner.inputs, size, { dims });
    } else {
      // a named dataset without a split calibrates on its seeded calibration subset of train
      const spec =
        parseDataSpec(flags.calib).split === undefined && !/\.(npz|npy)$/i.test(flags.calib) ? `${flags.calib}:calibration` : flags.calib;
      const dataDir = flags.dataDir ? { dataDir: flags.dataDir } : {};
      const loaded = await loadDataSpec(spec, { ...dataDir, calibrationSize: size, inputs: runner.inputs });
      if (spec.endsWith(':calibration') && spec !== flags.calib) {
        // a named dataset: calibrate on its train subset, measure on the first samples of its test split
        source = datasetSource(loaded, runner.inputs, { dims });
        const test = await loadDataSpec(`${flags.calib}:test`, { ...dataDir, inputs: runner.inputs });
        holdout = datasetSource(limitSamples(test, HOLDOUT_SIZE), runner.inputs, { dims });
      } else {
        // a file: the last samples (up to 64, at most a fifth) are held back from calibration
        const n = sampleCount(loaded);
        const held = Math.min(HOLDOUT_SIZE, Math.floor(n / 5));
        source = datasetSource(held > 0 ? limitSamples(loaded, n - held) : loaded, runner.inputs, { dims });
        if (held > 0) {
          const tail = Array.from({ length: held }, (_, k) => n - held + k);
          holdout = datasetSource(selectSamples(loaded, tail), runner.inputs, { dims });
        }
      }
    }
  } finally {
    await runner.dispose();
  }
  const calibration = batchesOf(source, size);
  log?.(`calibrating on ${Math.min(size, source.count)} samples of ${source.name}\n`);
  return { options: { ...options, calibration }, source, ...(holdout ? { holdout } : {}) };
}

/** What the fidelity guard measured: the quantized model against the original on held-back (or seeded random) inputs. */
export interface GuardFigures {
  /** 'random', or the name of the held-back data. */
  readonly inputs: string;
  readonly samples: number;
  /** Worst output's SNR and cosine. */
  readonly snrDb: number;
  readonly cosine: number;
  /** With labels: top-1 accuracy of the original and of the quantized model on the same samples. */
  readonly accuracy?: { readonly original: number; readonly quantized: number };
  /**
   * Latency on this machine: the median of LATENCY_RUNS runs of one batch of the measured samples, each model
   * warmed up once, runs alternating so both see the same load; `ratio` is quantized over original.
   */
  readonly latency?: { readonly originalMs: number; readonly quantizedMs: number; readonly ratio: number; readonly batch: number };
}

/** Runs per model behind the guard's latency figure (after one warm-up run each). */
export const LATENCY_RUNS = 5;

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/**
 * Measures models against `original` on the held-back samples (else 8 seeded random inputs). The original's
 * session stays open across `measure` calls (the auto scheme's guard measures several candidates).
 */
export class FidelityGuard {
  private originalAccuracy: number | undefined;
  private constructor(
    private readonly ref: import('../runtime/runner.js').Runner,
    private readonly source: FeedSource,
    private readonly held: boolean,
    private readonly file: string,
  ) {}

  static async open(
    original: Uint8Array,
    file: string,
    holdout: FeedSource | undefined,
    dims: Record<string, number>,
  ): Promise<FidelityGuard> {
    const ref = await createNodeRunner(original, { file });
    const source = holdout ?? randomSource(ref.inputs, 8, { dims, seed: 1 });
    return new FidelityGuard(ref, source, holdout !== undefined, file);
  }

  get hasLabels(): boolean {
    return this.source.labels !== undefined;
  }

  async measure(quantized: Uint8Array): Promise<GuardFigures> {
    const q = await createNodeRunner(quantized, { file: this.file });
    try {
      const r = await evaluate(q, this.source, { reference: this.ref, latency: false });
      const f = r.fidelity ?? [];
      let accuracy: GuardFigures['accuracy'];
      const acc = r.classification?.report?.accuracy;
      if (acc !== undefined) {
        this.originalAccuracy ??= (await evaluate(this.ref, this.source, { latency: false })).classification?.report?.accuracy;
        if (this.originalAccuracy !== undefined) accuracy = { original: this.originalAccuracy, quantized: acc };
      }
      const latency = this.latency ? await this.compareLatency(q) : undefined;
      return {
        inputs: this.held ? this.source.name : 'random',
        samples: r.samples,
        snrDb: Math.min(...f.map((x) => x.snrDb)),
        cosine: Math.min(...f.map((x) => x.cosine)),
        ...(accuracy ? { accuracy } : {}),
        ...(latency ? { latency } : {}),
      };
    } finally {
      await q.dispose();
    }
  }

  /** Whether `measure` also times both models (off for the auto scheme's repeated candidates). */
  latency = true;

  private async compareLatency(q: import('../runtime/runner.js').Runner): Promise<GuardFigures['latency']> {
    const batch = Math.max(1, Math.min(this.source.count, this.source.maxBatch, 64));
    const feeds = this.source.feeds(0, batch);
    const time = async (runner: import('../runtime/runner.js').Runner): Promise<number> => {
      const t0 = performance.now();
      await runner.run(feeds);
      return performance.now() - t0;
    };
    await time(this.ref);
    await time(q);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < LATENCY_RUNS; i++) {
      a.push(await time(this.ref));
      b.push(await time(q));
    }
    const originalMs = median(a);
    const quantizedMs = median(b);
    return { originalMs, quantizedMs, ratio: quantizedMs / originalMs, batch };
  }

  async dispose(): Promise<void> {
    await this.ref.dispose();
  }
}

/** Samples of the calibration data the auto scheme measures sensitivity on (the first ones). */
export const SENSITIVITY_SAMPLES = 16;

/** Calibration samples whole candidate plans are compared on (at least the sensitivity samples). */
export const JOINT_SAMPLES = 64;

/** The one target of `--scheme auto`. */
export type AutoTarget =
  | { readonly kind: 'size'; readonly ratio: number }
  | { readonly kind: 'bytes'; readonly bytes: number }
  | { readonly kind: 'snr'; readonly minSnrDb: number }
  | { readonly kind: 'drop'; readonly maxDropPoints: number };

export interface AutoPlanRow {
  readonly tensor: string;
  readonly shape: readonly number[];
  readonly ops: readonly string[];
  readonly precision: AutoPrecision;
  readonly action: string;
  readonly floatBytes: number;
  readonly bytes: number;
  /** Output SNR (dB) on the sensitivity samples with only this tensor at its chosen precision (Infinity for float32). */
  readonly sensitivityDb: number;
  /** Every candidate: bytes and output SNR with only this tensor at it. */
  readonly candidates: readonly { precision: AutoPrecision; bytes: number; snrDb: number }[];
}

export interface AutoAttempt {
  readonly steps: number;
  readonly weightsBytes: number;
  readonly fileBytes: number;
  readonly estimatedSnrDb: number;
  readonly guard?: GuardFigures;
  readonly holds: boolean;
}

export interface AutoOutcome {
  readonly result: SchemeResult;
  readonly bytes: Uint8Array;
  readonly plan: readonly AutoPlanRow[];
  readonly guard: GuardFigures;
  readonly attempts: readonly AutoAttempt[];
  readonly chainSteps: number;
  /** float32 bytes of the original model's float32 weights (what a --target-size ratio is a fraction of). */
  readonly weightsBytesBefore: number;
  readonly weightsBytesAfter: number;
  readonly estimatedSnrDb: number;
  readonly sensitivitySamples: number;
  readonly sensitivityRuns: number;
  /** Milliseconds: every candidate precision of every tensor; the sensitivity runs; building the mixed models; the guard's measurements. */
  readonly timings: { readonly candidatesMs: number; readonly sensitivityMs: number; readonly buildMs: number; readonly guardMs: number };
}

function floatWeightBytes(model: ModelProto): number {
  let n = 0;
  for (const d of findWeights(model)) if (d.dtype === 'float32') n += 4 * d.shape.reduce((a, b) => a * b, 1);
  return n;
}

function weightsAfter(r: SchemeResult): number {
  return r.tensors.reduce((a, t) => a + t.bytesAfter, 0);
}

/**
 * `quantize --scheme auto`: candidates for every tensor, their output errors on the first calibration samples,
 * the allocation for `target`, then the guard: each allocation is built as the real mixed model and measured on
 * the held-back samples; it backs off along the allocation chain (undoing the steps that cost the most error per
 * byte) until the target holds on the held-back samples, or refuses with E_FIDELITY.
 */
export async function autoQuantize(
  model: LoadedModel,
  ctx: { options: Partial<QuantizeOptions> & { openRunner: RunnerFactory }; holdout?: FeedSource; source?: FeedSource },
  target: AutoTarget,
  opts: QuantizeOptions & {
    dims?: Record<string, number>;
    sensitivitySamples?: number;
    /** Progress of the sensitivity runs (tensor x precision pairs measured, of total). */
    onSensitivity?: (done: number, total: number) => void;
  },
  log?: (line: string) => void,
): Promise<AutoOutcome> {
  const file = model.path;
  const where = { file };
  if (!ctx.source) throw new ModelpressError('E_ARG', '--scheme auto measures sensitivity on data: give --calib <data spec>', where);
  const proto = model.onnx!.proto;
  const clock = () => performance.now();
  let t0 = clock();
  const cands = autoCandidates(proto, opts);
  const candidatesMs = clock() - t0;
  if (cands.tensors.length === 0)
    throw new ModelpressError('E_UNSUPPORTED', 'scheme auto found no float32 weight any candidate precision stores smaller', where);
  // the sensitivity samples: the first ones of the calibration source
  const n = Math.min(opts.sensitivitySamples ?? SENSITIVITY_SAMPLES, ctx.source.count);
  const step = Math.max(1, Math.min(n, ctx.source.maxBatch));
  const feeds: Record<string, Tensor>[] = [];
  for (let s = 0; s < n; s += step) feeds.push(ctx.source.feeds(s, Math.min(n, s + step)));
  // whole plans are compared on more samples: one run per batch and plan, not per tensor and candidate
  const jointN = Math.min(Math.max(n, JOINT_SAMPLES), ctx.source.count);
  const jointFeeds: Record<string, Tensor>[] = [];
  const jointStep = Math.max(1, Math.min(32, ctx.source.maxBatch));
  for (let s = 0; s < jointN; s += jointStep) jointFeeds.push(ctx.source.feeds(s, Math.min(jointN, s + jointStep)));
  const variants = cands.tensors.reduce((a, t) => a + t.candidates.length - 1, 0);
  log?.(`auto: ${cands.tensors.length} tensors, ${variants} candidate precisions measured on ${n} samples of ${ctx.source.name}\n`);
  t0 = clock();
  const measured = await measureOutputErrors({
    openRunner: ctx.options.openRunner,
    model: cands.model,
    feeds,
    tensors: cands.tensors.map((t) => ({ name: t.name, variants: t.candidates.slice(1).map((c) => c.values) })),
    file,
    ...(opts.onSensitivity ? { onMeasured: opts.onSensitivity } : {}),
  });
  const sensitivityMs = clock() - t0;
  const alloc: AllocTensor[] = cands.tensors.map((t, i) => ({
    name: t.name,
    bytes: t.candidates.map((c) => c.bytes),
    error: [0, ...measured.errors[i]!],
  }));
  const chain = allocationChain(alloc);
  const weightsBytesBefore = floatWeightBytes(proto);
  const guard = await FidelityGuard.open(model.onnx!.bytes, file, ctx.holdout, opts.dims ?? {});
  guard.latency = false; // many candidates are measured; their speed is not what the plan is chosen by
  let buildMs = 0;
  let guardMs = 0;
  const attempts: AutoAttempt[] = [];
  type Built = { result: SchemeResult; bytes: Uint8Array; attempt: AutoAttempt; allocation: Allocation };
  /**
   * For a size budget: the allocation, and every uniform plan (each tensor at one precision where it has it) that
   * fits, its slack spent the same way; all measured together on up to JOINT_SAMPLES calibration samples (every tensor changed at
   * once, so no additivity is assumed), the least output error wins.
   */
  let jointRuns = 0;
  let jointMs = 0;
  const bestWithin = async (budget: number): Promise<Allocation | undefined> => {
    const plans: Allocation[] = [];
    const a = allocate(alloc, { maxBytes: budget }, chain);
    if (a) plans.push(a);
    for (const p of AUTO_PRECISIONS.slice(1)) {
      const choice = cands.tensors.map((t) =>
        Math.max(
          0,
          t.candidates.findIndex((c) => c.precision === p),
        ),
      );
      const bytes = choice.reduce((x, c, i) => x + alloc[i]!.bytes[c]!, 0);
      if (bytes > budget) continue;
      const error = choice.reduce((x, c, i) => x + Math.max(0, alloc[i]!.error[c]!), 0);
      plans.push(fillSlack(alloc, { choice, steps: -1, bytes, error }, budget));
    }
    if (plans.length <= 1) return plans[0];
    const sets = plans.map((pl) => {
      const set = new Map<string, Float32Array>();
      pl.choice.forEach((c, i) => {
        if (c > 0) set.set(cands.tensors[i]!.name, cands.tensors[i]!.candidates[c]!.values);
      });
      return set;
    });
    const tj = clock();
    const m = await measureOutputErrors({
      openRunner: ctx.options.openRunner,
      model: cands.model,
      feeds: jointFeeds,
      tensors: [],
      joint: sets,
      file,
    });
    jointMs += clock() - tj;
    jointRuns += m.runs;
    let best = 0;
    m.joint.forEach((e, k) => {
      if (e < m.joint[best]!) best = k;
    });
    log?.(
      `auto: ${plans.length} plans within ${Math.round(budget)} bytes measured together on ${jointN} samples: ${m.joint.map((e) => noiseRatioToDb(e).toFixed(1)).join(', ')} dB; plan ${best + 1} kept\n`,
    );
    return plans[best];
  };
  const built = new Map<string, Built>();
  const holds = (g: GuardFigures | undefined, fileBytes: number, weights: number): boolean => {
    if (target.kind === 'size') return weights <= target.ratio * weightsBytesBefore;
    if (target.kind === 'bytes') return fileBytes <= target.bytes;
    if (!g) return false;
    if (target.kind === 'snr') return g.snrDb >= target.minSnrDb;
    return g.accuracy !== undefined && (g.accuracy.original - g.accuracy.quantized) * 100 <= target.maxDropPoints;
  };
  const attempt = async (a: Allocation, measure: boolean): Promise<Built> => {
    const key = a.choice.join(',');
    const have = built.get(key);
    if (have && (have.attempt.guard || !measure)) return have;
    let result = have?.result;
    let bytes = have?.bytes;
    const map = new Map(cands.tensors.map((t, i) => [t.name, t.candidates[a.choice[i]!]!.precision] as const));
    if (!result || !bytes) {
      const tb = clock();
      result = buildMixed(cands, map, opts);
      if (opts.compactNames) {
        const c = compactNames(result.model, file);
        result = {
          ...result,
          notes: [
            ...result.notes,
            `${c.tensors} tensor names shortened and ${c.nodes} node names cleared (--compact-names); graph inputs and outputs keep theirs`,
          ],
        };
      }
      bytes = writeOnnx(result.model, where);
      buildMs += clock() - tb;
    }
    let g: GuardFigures | undefined;
    if (measure) {
      const tg = clock();
      g = await guard.measure(bytes);
      guardMs += clock() - tg;
    }
    const w = weightsAfter(result);
    const at: AutoAttempt = {
      steps: a.steps,
      weightsBytes: w,
      fileBytes: bytes.byteLength,
      estimatedSnrDb: noiseRatioToDb(a.error),
      ...(g ? { guard: g } : {}),
      holds: holds(g, bytes.byteLength, w),
    };
    attempts.push(at);
    log?.(
      `auto: ${a.steps}/${chain.steps.length} steps, weights ${w} bytes, file ${bytes.byteLength} bytes${g ? `, held-back SNR ${g.snrDb.toFixed(1)} dB` : ''}: ${at.holds ? 'holds' : 'misses the target'}\n`,
    );
    const entry = { result, bytes, attempt: at, allocation: a };
    built.set(key, entry);
    return entry;
  };
  let chosen: Built;
  try {
    if (target.kind === 'size' || target.kind === 'bytes') {
      // size targets: the allocation is exact for weights; the file adds graph bytes, so step on until it fits
      const fixed = cands.fixedBytes;
      let budget =
        target.kind === 'size'
          ? target.ratio * weightsBytesBefore - fixed
          : target.bytes - (writeOnnx(cands.model, where).byteLength - alloc.reduce((s, t) => s + t.bytes[0]!, 0));
      let entry: Built | undefined;
      for (let i = 0; i < 8; i++) {
        const a = await bestWithin(budget);
        if (!a) break;
        entry = await attempt(a, false);
        if (entry.attempt.holds) break;
        const over =
          target.kind === 'size' ? entry.attempt.weightsBytes - target.ratio * weightsBytesBefore : entry.attempt.fileBytes - target.bytes;
        budget -= Math.max(1, over);
      }
      if (!entry?.attempt.holds) {
        const smallest = planAt(alloc, chain, chain.steps.length).bytes + fixed;
        throw new ModelpressError(
          'E_FIDELITY',
          `--target-size ${target.kind === 'size' ? target.ratio : target.bytes} cannot be reached: the smallest mixed model stores ${smallest} weight bytes (${(smallest / weightsBytesBefore).toFixed(3)} of float32); nothing written`,
          where,
        );
      }
      chosen = await attempt(entry.allocation, true);
    } else {
      if (target.kind === 'drop' && !guard.hasLabels)
        throw new ModelpressError('E_ARG', '--max-drop needs labels in the --calib data (a labels array, or a built-in dataset)', where);
      // error targets: start where the estimate says the floor holds (or the whole chain for --max-drop), then
      // bisect back along the chain on the measured held-back figures
      let hi = target.kind === 'snr' ? allocate(alloc, { maxError: 10 ** (-target.minSnrDb / 10) }, chain)!.steps : chain.steps.length;
      let found: Built | undefined;
      let best: Built | undefined;
      if (hi > 0) {
        const first = await attempt(planAt(alloc, chain, hi), true);
        if (first.attempt.holds) found = first;
      }
      let lo = 0;
      while (!found && hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        const e = await attempt(planAt(alloc, chain, mid), true);
        if (e.attempt.holds) {
          lo = mid;
          best = e;
        } else hi = mid;
      }
      found ??= best;
      if (!found) {
        const what =
          target.kind === 'snr' ? `the --min-snr ${target.minSnrDb} dB floor` : `--max-drop ${target.maxDropPoints} accuracy points`;
        throw new ModelpressError(
          'E_FIDELITY',
          `no mixed-precision model holds ${what} on the held-back samples: even the one compressed tensor measured best misses it; nothing written`,
          where,
        );
      }
      chosen = found;
    }
  } finally {
    await guard.dispose();
  }
  const a = chosen.allocation;
  const reportOf = new Map(chosen.result.tensors.filter((t) => t.graph === '').map((t) => [t.name, t]));
  const plan: AutoPlanRow[] = cands.tensors.map((t, i) => {
    const c = t.candidates[a.choice[i]!]!;
    return {
      tensor: t.name,
      shape: t.shape,
      ops: t.ops,
      precision: c.precision,
      action: reportOf.get(t.name)?.action ?? c.action,
      floatBytes: t.candidates[0]!.bytes,
      bytes: c.bytes,
      sensitivityDb: noiseRatioToDb(alloc[i]!.error[a.choice[i]!]!),
      candidates: t.candidates.map((x, j) => ({ precision: x.precision, bytes: x.bytes, snrDb: noiseRatioToDb(alloc[i]!.error[j]!) })),
    };
  });
  return {
    result: { ...chosen.result, notes: [...cands.notes, ...chosen.result.notes] },
    bytes: chosen.bytes,
    plan,
    guard: chosen.attempt.guard!,
    attempts,
    chainSteps: chain.steps.length,
    weightsBytesBefore,
    weightsBytesAfter: chosen.attempt.weightsBytes,
    estimatedSnrDb: noiseRatioToDb(a.error),
    sensitivitySamples: n,
    sensitivityRuns: measured.runs + jointRuns,
    timings: { candidatesMs, sensitivityMs: sensitivityMs + jointMs, buildMs, guardMs },
  };
}
