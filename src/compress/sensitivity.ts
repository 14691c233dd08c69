/**
 * Per-layer sensitivity analysis: compress ONE layer at a time at several
 * levels, measure the accuracy drop against the untouched model, then
 * suggest a per-layer setting for a target size greedily (each step takes
 * the further compression whose measured drop is smallest, ties broken by
 * the larger saving) and measure that combination.
 *
 * Levels and their storage cost in bits per weight (what the size target
 * counts; scales and codebooks are counted, sparse indices as a 1-bit mask):
 *  - prune: magnitude pruning of the layer to 50 / 70 / 90 % sparsity,
 *    cost (1 - s) * 32 + 1.
 *  - quant: int8 per-channel symmetric (8 + 32 * channels / n), int4
 *    as `quantizeModel(.., 'int4')` stores it (4 + scale/zero-point overhead),
 *    k-means 4 / 3 / 2 bits (bits + 32 * 2^bits / n).
 * The compressed layer is evaluated in float (quantize -> dequantize), which
 * is what the integer formats compute up to float rounding.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { cloneModel, constantsToInitializers, getInitializerValues, setInitializerValues } from '../graph/model-edit.js';
import { datasetSource } from '../eval/feeds.js';
import { allocate, allocationChain, planAt } from '../quantize/auto.js';
import { makeTensor, toFloat32, type Tensor } from '../core/tensor.js';
import { writeOnnx } from '../formats/onnx/write.js';
import { initializersToInputs } from '../train/autodiff/index.js';
import { TRAINING_RUNNER_OPTIONS } from '../runtime/runner.js';
import { readTensorProtoFloat32 } from '../graph/tensor-proto.js';
import { kmeans1d, decodeCodebook } from '../quantize/kmeans.js';
import { dequantizePerChannel, intRange, quantizePerChannel } from '../quantize/linear.js';
import { quantizeWeight } from '../quantize/qdq-helpers.js';
import type { RunnerFactory } from '../runtime/runner.js';
import { evaluateModel } from '../train/trainer.js';
import { sampleCount, type Dataset } from '../data/dataset.js';
import { requireLayers, type CompressibleLayer } from './layers.js';
import { weightFakeQuant } from './weight-fake-quant.js';

export type SensitivityMethod = 'prune' | 'quant';
export const SENSITIVITY_METHODS: readonly SensitivityMethod[] = ['prune', 'quant'];

export interface SensitivityLevel {
  /** e.g. 'prune-90', 'int8', 'kmeans-3'. */
  id: string;
  /** Storage bits per weight of the layer at this level. */
  bitsPerWeight(layer: CompressibleLayer): number;
  /** The compressed weights (quantize -> dequantize, or pruned), a fresh array. */
  apply(w: Float32Array, layer: CompressibleLayer): Float32Array;
}

/** Zeroes the `sparsity` fraction of `w` with the smallest magnitudes (ties broken by position). */
export function magnitudePrune(w: Float32Array, sparsity: number): Float32Array {
  if (!(sparsity >= 0 && sparsity < 1)) throw new ModelpressError('E_ARG', `sparsity must be in [0, 1), got ${sparsity}`);
  const n = Math.floor(w.length * sparsity);
  const order = Array.from({ length: w.length }, (_, i) => i).sort((a, b) => Math.abs(w[a]!) - Math.abs(w[b]!) || a - b);
  const out = Float32Array.from(w);
  for (let i = 0; i < n; i++) out[order[i]!] = 0;
  return out;
}

function channels(layer: CompressibleLayer): number {
  const axis = layer.role.channelAxis;
  return axis === undefined ? 1 : layer.shape[axis]!;
}

function pruneLevel(percent: number): SensitivityLevel {
  return { id: `prune-${percent}`, bitsPerWeight: () => (1 - percent / 100) * 32 + 1, apply: (w) => magnitudePrune(w, percent / 100) };
}

function kmeansLevel(bits: number): SensitivityLevel {
  return {
    id: `kmeans-${bits}`,
    bitsPerWeight: (l) => bits + (32 * 2 ** bits) / l.count,
    apply: (w) => {
      const zeroCentroid = w.some((v) => v === 0);
      const r = kmeans1d(w, { k: 2 ** bits, zeroCentroid });
      return decodeCodebook(r.centroids, r.indices);
    },
  };
}

const INT8: SensitivityLevel = {
  id: 'int8',
  bitsPerWeight: (l) => 8 + (32 * channels(l)) / l.count,
  apply: (w, l) => quantizeWeight(w, l.shape, { signed: true, symmetric: true, axis: l.role.channelAxis }).restored,
};

const INT4: SensitivityLevel = {
  id: 'int4',
  // blocks of 32 along the reduction axis (Gemm/MatMul) or per channel: a float32 scale + a 4-bit zero point each
  bitsPerWeight: (l) => {
    const ax = l.role.reductionAxis;
    const blocked = ax !== undefined && l.kind === 'fc' && l.shape[ax]! >= 32;
    const groups = blocked ? (l.count / l.shape[ax]!) * Math.ceil(l.shape[ax]! / 32) : channels(l);
    return 4 + (36 * groups) / l.count;
  },
  apply: (w, l) => {
    const q = weightFakeQuant('int4', l);
    if (q) return q(w);
    const axis = l.role.channelAxis ?? 0;
    const pc = quantizePerChannel(w, l.shape, axis, intRange(4, true, false), false);
    return dequantizePerChannel(pc.q, l.shape, axis, pc.scales, pc.zeroPoints);
  },
};

/** The levels of a method, least to most compression. */
export function sensitivityLevels(method: SensitivityMethod): SensitivityLevel[] {
  if (method === 'prune') return [50, 70, 90].map(pruneLevel);
  if (method === 'quant') return [INT8, INT4, kmeansLevel(4), kmeansLevel(3), kmeansLevel(2)];
  throw new ModelpressError('E_ARG', `sensitivity method must be one of ${SENSITIVITY_METHODS.join(', ')}, got '${method as string}'`);
}

export interface LayerSensitivity {
  layer: string;
  kind: 'conv' | 'fc';
  shape: readonly number[];
  weights: number;
  /** Per level: accuracy with only this layer compressed, and the drop (baseline - accuracy, fraction). */
  levels: { level: string; bitsPerWeight: number; accuracy: number; drop: number }[];
}

export interface Suggestion {
  /** Target size as a fraction of the float32 weight size. */
  targetRatio: number;
  /** Per layer: chosen level ('float' = untouched). */
  layers: { layer: string; level: string; bitsPerWeight: number; drop: number }[];
  /** Size of the suggestion / float32 size of the analysed weights. */
  ratio: number;
  reached: boolean;
  /** Sum of the per-layer drops (the greedy's additive estimate). */
  estimatedDrop: number;
  /** Measured: accuracy with every chosen setting applied together. */
  accuracy: number;
  drop: number;
}

export interface SensitivityResult {
  method: SensitivityMethod;
  baseline: number;
  examples: number;
  layers: LayerSensitivity[];
  suggestion?: Suggestion;
}

export interface SensitivityOptions {
  openRunner: RunnerFactory;
  model: ModelProto;
  data: Dataset;
  method: SensitivityMethod;
  /** Suggest per-layer settings for this size (fraction of float32, in (0, 1]). */
  targetRatio?: number;
  file?: string;
  /** Called after each evaluation (progress). */
  onEvaluated?: (done: number, total: number) => void;
}

export async function analyzeSensitivity(opts: SensitivityOptions): Promise<SensitivityResult> {
  const { openRunner, model, data, method, file } = opts;
  const where = file === undefined ? {} : { file };
  const levels = sensitivityLevels(method);
  if (opts.targetRatio !== undefined && !(opts.targetRatio > 0 && opts.targetRatio <= 1))
    throw new ModelpressError('E_ARG', `target ratio must be in (0, 1] (compressed size / float32 size), got ${opts.targetRatio}`);
  const layers = requireLayers(model, 'sensitivity', file);
  const values = new Map(layers.map((l) => [l.name, readTensorProtoFloat32(l.def.tensor)]));
  const baseline = (await evaluateModel(openRunner, model, data, where)).accuracy;
  const total = layers.length * levels.length + (opts.targetRatio === undefined ? 0 : 1);
  let done = 0;
  const evalWith = async (replaced: Map<string, Float32Array>): Promise<number> => {
    const m = cloneModel(model);
    setInitializerValues(m, replaced);
    const acc = (await evaluateModel(openRunner, m, data, where)).accuracy;
    opts.onEvaluated?.(++done, total);
    return acc;
  };
  const out: LayerSensitivity[] = [];
  for (const l of layers) {
    const row: LayerSensitivity = { layer: l.name, kind: l.kind, shape: l.shape, weights: l.count, levels: [] };
    for (const level of levels) {
      const accuracy = await evalWith(new Map([[l.name, level.apply(values.get(l.name)!, l)]]));
      row.levels.push({ level: level.id, bitsPerWeight: level.bitsPerWeight(l), accuracy, drop: baseline - accuracy });
    }
    out.push(row);
  }
  const result: SensitivityResult = { method, baseline, examples: sampleCount(data), layers: out };
  if (opts.targetRatio !== undefined) {
    const plan = greedyPlan(out, opts.targetRatio);
    const replaced = new Map<string, Float32Array>();
    for (const p of plan.layers) {
      const level = levels.find((x) => x.id === p.level);
      const l = layers.find((x) => x.name === p.layer)!;
      if (level) replaced.set(l.name, level.apply(values.get(l.name)!, l));
    }
    const accuracy = await evalWith(replaced);
    result.suggestion = { ...plan, accuracy, drop: baseline - accuracy };
  }
  return result;
}

/**
 * Greedy per-layer choice for a size target: start from float32 everywhere;
 * while the size is above target, among all moves of one layer to a level
 * that stores it smaller, take the one whose measured drop is smallest (ties:
 * the larger saving in bits).
 */
export function greedyPlan(layers: readonly LayerSensitivity[], targetRatio: number): Omit<Suggestion, 'accuracy' | 'drop'> {
  const floatBits = layers.reduce((a, l) => a + 32 * l.weights, 0);
  const current = layers.map(() => ({ level: 'float', bitsPerWeight: 32, drop: 0 }));
  const size = (): number => current.reduce((a, c, i) => a + c.bitsPerWeight * layers[i]!.weights, 0);
  while (size() > targetRatio * floatBits) {
    let best: { i: number; level: LayerSensitivity['levels'][number]; saving: number } | undefined;
    layers.forEach((l, i) => {
      for (const level of l.levels) {
        const saving = (current[i]!.bitsPerWeight - level.bitsPerWeight) * l.weights;
        if (saving <= 0) continue;
        if (!best || level.drop < best.level.drop - 1e-12 || (Math.abs(level.drop - best.level.drop) <= 1e-12 && saving > best.saving))
          best = { i, level, saving };
      }
    });
    if (!best) break;
    current[best.i] = { level: best.level.level, bitsPerWeight: best.level.bitsPerWeight, drop: best.level.drop };
  }
  const ratio = size() / floatBits;
  return {
    targetRatio,
    layers: current.map((c, i) => ({ layer: layers[i]!.layer, ...c })),
    ratio,
    reached: ratio <= targetRatio + 1e-12,
    estimatedDrop: current.reduce((a, c) => a + c.drop, 0),
  };
}

/** Replacement values for some float32 initializers of the main graph, all applied in one run. */
export type ValueSet = ReadonlyMap<string, Float32Array>;

/** One tensor and the variants of its values to try, for `measureOutputErrors`. */
export interface TensorVariants {
  /** A float32 initializer of the main graph. */
  readonly name: string;
  readonly variants: readonly Float32Array[];
}

/**
 * Label-free sensitivity at the model's outputs: for each tensor and each of its variants, the output
 * noise-to-signal ratio Σ(ref − y)² / Σref² (the worst output's) on `feeds`, with only that tensor changed.
 * The tensors become graph inputs of one onnxruntime session (the pattern the trainer's step session uses), so
 * every variant is one run per batch, not a new session. `errors[t][v]` answers tensor t, variant v; `joint[k]`
 * the k-th set of `joint` (every tensor of the set changed at once).
 */
export async function measureOutputErrors(opts: {
  openRunner: RunnerFactory;
  model: ModelProto;
  feeds: readonly Readonly<Record<string, Tensor>>[];
  tensors: readonly TensorVariants[];
  /** Further sets measured with every tensor of the set changed at once (a whole plan); answered in `joint`. */
  joint?: readonly ValueSet[];
  file?: string;
  onMeasured?: (done: number, total: number) => void;
}): Promise<{ errors: number[][]; joint: number[]; runs: number }> {
  const { model, feeds, tensors } = opts;
  if (feeds.length === 0) throw new ModelpressError('E_ARG', 'sensitivity needs at least one batch of inputs');
  const names = [...new Set([...tensors.map((t) => t.name), ...(opts.joint ?? []).flatMap((j) => [...j.keys()])])];
  const original = getInitializerValues(model, names);
  const probe = cloneModel(model);
  initializersToInputs(probe.graph!, names);
  const shapes = new Map((model.graph?.initializer ?? []).map((t) => [t.name, t.dims.map(Number)]));
  const asTensor = (name: string, v: Float32Array): Tensor =>
    makeTensor('float32', shapes.get(name)!, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  const base: Record<string, Tensor> = {};
  for (const n of names) base[n] = asTensor(n, original.get(n)!);
  const runner = await opts.openRunner(writeOnnx(probe), {
    ...TRAINING_RUNNER_OPTIONS,
    generated: 'the sensitivity probe (weights fed as inputs)',
    ...(opts.file === undefined ? {} : { file: opts.file }),
  });
  let runs = 0;
  try {
    const outputs = runner.outputs
      .filter((o) => o.dtype === 'float32' || o.dtype === 'float16' || o.dtype === 'float64')
      .map((o) => o.name);
    if (outputs.length === 0)
      throw new ModelpressError('E_UNSUPPORTED', 'the model has no floating-point output to measure', opts.file ? { file: opts.file } : {});
    const reference: Float32Array[][] = [];
    for (const f of feeds) {
      const r = await runner.run({ ...f, ...base }, outputs);
      runs++;
      reference.push(outputs.map((o) => toFloat32(r[o]!)));
    }
    const total = tensors.reduce((a, t) => a + t.variants.length, 0) + (opts.joint?.length ?? 0);
    let done = 0;
    const measure = async (set: ValueSet): Promise<number> => {
      const noise = new Float64Array(outputs.length);
      const signal = new Float64Array(outputs.length);
      const changed: Record<string, Tensor> = {};
      for (const [n, v] of set) changed[n] = asTensor(n, v);
      for (let b = 0; b < feeds.length; b++) {
        const r = await runner.run({ ...feeds[b]!, ...base, ...changed }, outputs);
        runs++;
        outputs.forEach((o, k) => {
          const ref = reference[b]![k]!;
          const y = toFloat32(r[o]!);
          let n = 0;
          let s2 = 0;
          for (let i = 0; i < ref.length; i++) {
            const d = ref[i]! - y[i]!;
            n += Number.isNaN(d) ? Infinity : d * d;
            s2 += ref[i]! * ref[i]!;
          }
          noise[k] += n;
          signal[k] += s2;
        });
      }
      let worst = 0;
      for (let k = 0; k < outputs.length; k++) {
        const e = noise[k]! === 0 ? 0 : signal[k]! === 0 ? Infinity : noise[k]! / signal[k]!;
        if (e > worst) worst = e;
      }
      opts.onMeasured?.(++done, total);
      return worst;
    };
    const errors: number[][] = [];
    for (const t of tensors) {
      const row: number[] = [];
      for (const v of t.variants) row.push(await measure(new Map([[t.name, v]])));
      errors.push(row);
    }
    const joint: number[] = [];
    for (const set of opts.joint ?? []) joint.push(await measure(set));
    return { errors, joint, runs };
  } finally {
    await runner.dispose();
  }
}

/** Output SNR in dB of a noise-to-signal ratio (+Infinity for 0). */
export function noiseRatioToDb(e: number): number {
  return -10 * Math.log10(e);
}

/** Per layer and level: the output SNR (dB, worst output) against the original with only that layer compressed. */
export interface LayerOutputSensitivity {
  layer: string;
  kind: 'conv' | 'fc';
  shape: readonly number[];
  weights: number;
  levels: { level: string; bitsPerWeight: number; snrDb: number }[];
}

export interface OutputSensitivityResult {
  method: SensitivityMethod;
  /** Label-free: fidelity at the outputs instead of accuracy. */
  metric: 'snr';
  examples: number;
  layers: LayerOutputSensitivity[];
  suggestion?: {
    targetRatio: number;
    layers: { layer: string; level: string; bitsPerWeight: number; snrDb: number }[];
    ratio: number;
    reached: boolean;
    /** From the per-layer figures, assuming their output noise adds up. */
    estimatedSnrDb: number;
    /** Measured with every chosen level applied together. */
    snrDb: number;
  };
}

/** Samples the label-free analysis runs on by default. */
export const OUTPUT_SENSITIVITY_SAMPLES = 64;

/**
 * `analyzeSensitivity` for any model and unlabelled data: the same layers and levels, each measured as the output
 * SNR against the untouched model on `data`'s first `limit` samples (one onnxruntime session, the weights fed as
 * inputs). The suggestion for a target size is the auto scheme's allocation (src/quantize/auto.ts) over these
 * figures, then measured with every chosen level at once.
 */
export async function analyzeOutputSensitivity(opts: {
  openRunner: RunnerFactory;
  model: ModelProto;
  data: Dataset;
  method: SensitivityMethod;
  targetRatio?: number;
  limit?: number;
  file?: string;
  onEvaluated?: (done: number, total: number) => void;
}): Promise<OutputSensitivityResult> {
  const { openRunner, method, file } = opts;
  const levels = sensitivityLevels(method);
  if (opts.targetRatio !== undefined && !(opts.targetRatio > 0 && opts.targetRatio <= 1))
    throw new ModelpressError('E_ARG', `target ratio must be in (0, 1] (compressed size / float32 size), got ${opts.targetRatio}`);
  const model = cloneModel(opts.model);
  constantsToInitializers(model);
  const layers = requireLayers(model, 'sensitivity', file);
  const values = new Map(layers.map((l) => [l.name, readTensorProtoFloat32(l.def.tensor)]));
  const runner = await openRunner(writeOnnx(model), file === undefined ? {} : { file });
  let feeds: Record<string, Tensor>[];
  let examples: number;
  try {
    const source = datasetSource(opts.data, runner.inputs);
    examples = Math.min(opts.limit ?? OUTPUT_SENSITIVITY_SAMPLES, source.count);
    const step = Math.max(1, Math.min(32, source.maxBatch));
    feeds = [];
    for (let s = 0; s < examples; s += step) feeds.push(source.feeds(s, Math.min(examples, s + step)));
  } finally {
    await runner.dispose();
  }
  const variants = layers.map((l) => levels.map((level) => level.apply(values.get(l.name)!, l)));
  const first = await measureOutputErrors({
    openRunner,
    model,
    feeds,
    tensors: layers.map((l, i) => ({ name: l.name, variants: variants[i]! })),
    ...(file === undefined ? {} : { file }),
    ...(opts.onEvaluated ? { onMeasured: opts.onEvaluated } : {}),
  });
  const out: LayerOutputSensitivity[] = layers.map((l, i) => ({
    layer: l.name,
    kind: l.kind,
    shape: l.shape,
    weights: l.count,
    levels: levels.map((level, j) => ({
      level: level.id,
      bitsPerWeight: level.bitsPerWeight(l),
      snrDb: noiseRatioToDb(first.errors[i]![j]!),
    })),
  }));
  const result: OutputSensitivityResult = { method, metric: 'snr', examples, layers: out };
  if (opts.targetRatio !== undefined) {
    const alloc = layers.map((l, i) => ({
      name: l.name,
      bytes: [32 * l.count, ...levels.map((level) => level.bitsPerWeight(l) * l.count)],
      error: [0, ...first.errors[i]!],
    }));
    const floatBits = alloc.reduce((a, t) => a + t.bytes[0]!, 0);
    const chain = allocationChain(alloc);
    const plan = allocate(alloc, { maxBytes: opts.targetRatio * floatBits }, chain) ?? planAt(alloc, chain, chain.steps.length);
    const set = new Map<string, Float32Array>();
    plan.choice.forEach((c, i) => {
      if (c > 0) set.set(layers[i]!.name, variants[i]![c - 1]!);
    });
    const joint = await measureOutputErrors({
      openRunner,
      model,
      feeds,
      tensors: [],
      joint: [set],
      ...(file === undefined ? {} : { file }),
    });
    const ratio = plan.bytes / floatBits;
    result.suggestion = {
      targetRatio: opts.targetRatio,
      layers: plan.choice.map((c, i) => ({
        layer: layers[i]!.name,
        level: c === 0 ? 'float' : levels[c - 1]!.id,
        bitsPerWeight: c === 0 ? 32 : levels[c - 1]!.bitsPerWeight(layers[i]!),
        snrDb: c === 0 ? Infinity : noiseRatioToDb(first.errors[i]![c - 1]!),
      })),
      ratio,
      reached: ratio <= opts.targetRatio + 1e-12,
      estimatedSnrDb: noiseRatioToDb(plan.error),
      snrDb: noiseRatioToDb(joint.joint[0]!),
    };
  }
  return result;
}
