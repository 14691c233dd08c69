/**
 * Quantization-aware training. Weights: fake-quantized in TypeScript with
 * the export's own quantizer (weight-fake-quant.ts) and trained through a
 * straight-through estimator (the graph sees q(w), the optimizer moves w by
 * the gradient at q(w)). Activations (int8 only): fake quantization nodes in
 * the training graph (insertFakeQuant: Round with a straight-through
 * gradient, Clip), scale and zero point fed each step from exponential moving
 * averages of each activation's batch min and max (the training graph also
 * outputs those). Export: `quantizeModel(.., 'static')` with the learned
 * ranges in place of calibration (int8: QDQ that onnxruntime fuses into
 * QGemm/QLinearConv), or `quantizeModel(.., 'int4')` (MatMulNBits / int4
 * DequantizeLinear blocks), or `quantizeModel(.., 'binary' | 'ternary')` (packed
 * codes + per-channel scales; first and last layers optionally int8
 * weight-only): the exported weights are exactly the q(w) the
 * last step trained with. The training itself is train()'s loop with hooks
 * (substitute graph, q(w) weight views, scale feeds, range outputs), so QAT
 * gets validation, the best checkpoint and early stopping like any training.
 */
import { create } from '@bufbuild/protobuf';
import { NodeProtoSchema, type ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { checkDataset, floatView, limitSamples, sampleCount, sampleShape, type Dataset } from '../data/dataset.js';
import { writeOnnx } from '../formats/onnx/write.js';
import { makeAttributes } from '../graph/attributes.js';
import { cloneModel, setInitializerValues } from '../graph/model-edit.js';
import { makeValueInfo } from '../graph/value-info.js';
import { quantizeModel } from '../quantize/index.js';
import { quantizeStatic } from '../quantize/static/index.js';
import type { CalibrationFeed, SchemeResult } from '../quantize/types.js';
import type { Runner, RunnerFactory } from '../runtime/runner.js';
import { floatTensor, floatValues } from '../runtime/tensors.js';
import { insertFakeQuant, type FakeQuantSpec } from '../train/autodiff/index.js';
import type { OptimizerSpec } from '../train/optim/index.js';
import type { LossSpec } from '../train/autodiff/types.js';
import type { BatchFeeds } from '../train/trainer/step-session.js';
import { train, type EarlyStoppingOptions, type EpochRecord, type TrainProgress } from '../train/trainer.js';
import { fitSampleShape, resolveModelIo, withDynamicBatch } from '../train/trainer/model-io.js';
import { requireLayers } from './layers.js';
import { activationParams } from './qat-activations.js';
import { TtqLayer, scaleLr } from './ttq.js';
import {
  int8WeightOnlyFakeQuant,
  isLowBitScheme,
  QAT_SCHEMES,
  weightFakeQuant,
  type LowBitScheme,
  type QatScheme,
  type WeightFakeQuant,
} from './weight-fake-quant.js';
import type { CompressibleLayer } from './layers.js';
import { TRAINING_RUNNER_OPTIONS } from '../runtime/runner.js';

export interface QatOptions {
  /** Opens the training graph, the validation model and the range probe (createNodeRunner, createWebRunner). */
  openRunner: RunnerFactory;
  /** The trained float model (not mutated). */
  model: ModelProto;
  train: Dataset;
  /** Held-out data evaluated (fake-quantized) after each epoch: drives the best checkpoint and early stopping. */
  validation?: Dataset;
  scheme: QatScheme;
  /** Passes over `train` (>= 1). */
  epochs: number;
  /** Default 64. */
  batchSize?: number;
  /** Shuffling seed; default 0. */
  seed?: number;
  /** Default Adam, lr 1e-4 (fine-tuning a trained model). */
  optimizer?: OptimizerSpec;
  /** Decay of the activation-range moving averages: ema = decay * ema + (1 - decay) * batch; default 0.99. */
  emaDecay?: number;
  /** int4 block size along the reduction axis (16..256, power of two); default 32. */
  blockSize?: number;
  /** binary/ternary: keep the first and last weight layers (graph order) at 8 bits (int8 weight-only, per channel). */
  keepEnds8Bit?: boolean;
  /** Cap on steps per epoch (quick runs); default the whole training set. */
  maxStepsPerEpoch?: number;
  /** Stop after this many epochs without validation gain. */
  earlyStopping?: EarlyStoppingOptions;
  /** Export the best validation epoch (weights and activation ranges) instead of the last; default true with validation. */
  restoreBest?: boolean;
  /** Loss; default cross-entropy on the labels. Label-free: MSE against the float model's outputs (train/teacher.ts feeds). */
  loss?: LossSpec;
  /** Per-batch inputs of the loss (the teacher's outputs). */
  batchFeeds?: BatchFeeds;
  onProgress?: (e: TrainProgress) => void;
  file?: string;
}

export interface ActivationRange {
  tensor: string;
  /** Moving averages of the batch min / max. */
  min: number;
  max: number;
  /** uint8 scale and zero point the export uses. */
  scale: number;
  zeroPoint: number;
}

export interface QatResult {
  /** The exported quantized model (runs in onnxruntime). */
  model: ModelProto;
  /** The float model holding the trained shadow weights (before the export's quantization). */
  floatModel: ModelProto;
  history: EpochRecord[];
  /** 1-based epoch whose weights and ranges were exported. */
  bestEpoch: number;
  stoppedEarly: boolean;
  /** int8: learned activation ranges (empty for int4, which is weight-only). */
  activations: ActivationRange[];
  /** Weights trained with fake quantization. */
  fakeQuantized: string[];
  /** The export's per-tensor report. */
  exportReport: SchemeResult;
}

type Ranges = Map<string, { min: number; max: number }>;

/** Runs QAT and exports the quantized model. */
export async function quantizationAwareTraining(opts: QatOptions): Promise<QatResult> {
  const { openRunner, model, scheme, file } = opts;
  const where = file === undefined ? {} : { file };
  if (!QAT_SCHEMES.includes(scheme))
    throw new ModelpressError('E_ARG', `QAT scheme must be one of ${QAT_SCHEMES.join(', ')}, got '${scheme}'`);
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1)
    throw new ModelpressError('E_ARG', `epochs must be an integer >= 1, got ${opts.epochs}`);
  const batchSize = opts.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new ModelpressError('E_ARG', `batch size must be an integer >= 1, got ${batchSize}`);
  const blockSize = opts.blockSize ?? 32;
  if (!(Number.isInteger(blockSize) && blockSize >= 16 && blockSize <= 256 && (blockSize & (blockSize - 1)) === 0))
    throw new ModelpressError('E_ARG', `block size must be a power of two in 16..256, got ${blockSize}`);
  const decay = opts.emaDecay ?? 0.99;
  if (!(decay >= 0 && decay < 1)) throw new ModelpressError('E_ARG', `EMA decay must be in [0, 1), got ${decay}`);
  const labelFree = opts.loss !== undefined && (opts.loss.kind === 'mse' || (opts.loss.kind === 'distillation' && opts.loss.alpha === 1));
  checkDataset(opts.train, 'training data', { labels: !labelFree });
  if (sampleCount(opts.train) === 0) throw new ModelpressError('E_ARG', 'training data is empty');

  const io = resolveModelIo(model, {}, file);
  const feedShape = fitSampleShape(io, sampleShape(opts.train), file);
  const layers = requireLayers(model, 'qat', file);
  if (opts.keepEnds8Bit && !isLowBitScheme(scheme))
    throw new ModelpressError(
      'E_ARG',
      `keeping the first and last layers at 8 bits applies to binary and ternary only, not ${scheme}`,
      where,
    );
  const ends = endLayers(layers, scheme, opts.keepEnds8Bit ?? false);
  const quantizers = new Map<string, WeightFakeQuant>();
  for (const l of layers) {
    const q = ends.includes(l.name) ? int8WeightOnlyFakeQuant(l) : weightFakeQuant(scheme, l, blockSize);
    if (q) quantizers.set(l.name, q);
  }
  if (quantizers.size === 0)
    throw new ModelpressError(
      'E_UNSUPPORTED',
      `qat ${scheme}: no weight the ${scheme} export quantizes (int4 leaves tensors under 256 elements float)`,
      where,
    );

  // Activations (int8): fake quantization fed by moving-average ranges, plus min/max outputs for the averages.
  const dummyFeed = {
    [io.inputName]: { dtype: 'float32', shape: [1, ...feedShape], data: new Float32Array(feedShape.reduce((a, b) => a * b, 1)) },
  };
  const acts = scheme === 'int8' ? await staticActivationTensors(model, dummyFeed, file) : [];
  const consumed = new Set(model.graph!.node.flatMap((n) => n.input));
  const specs: FakeQuantSpec[] = acts
    .filter((t) => consumed.has(t))
    .map((t) => ({ tensor: t, bits: 8, signed: false, scaleInput: `${t}_qat_scale`, zeroPointInput: `${t}_qat_zero_point` }));

  const ranges = await initialRanges(openRunner, model, acts, opts.train, io.inputName, feedShape, file);
  const scaleFeeds = new Map(specs.map((s) => [s.tensor, { scale: new Float32Array(1), zeroPoint: new Float32Array(1) }]));
  const refreshActivationFeeds = (): void => {
    for (const [t, f] of scaleFeeds) {
      const r = ranges.get(t)!;
      const p = activationParams(r.min, r.max);
      f.scale[0] = p.scale;
      f.zeroPoint[0] = p.zeroPoint;
    }
  };
  refreshActivationFeeds();
  const extraFeeds: Record<string, ReturnType<typeof floatTensor>> = {};
  for (const s of specs) {
    const f = scaleFeeds.get(s.tensor)!;
    extraFeeds[s.scaleInput!] = floatTensor(f.scale, [1]);
    extraFeeds[s.zeroPointInput!] = floatTensor(f.zeroPoint, [1]);
  }

  // The optimizer updates the float shadow weights; the graph is fed q(shadow) for fake-quantized weights
  // (ttq: the codes of the shadow times the scales it learns, trained in the gradient hook).
  const views = new Map<string, { fed: Float32Array; refresh: () => void }>();
  const ttq = new Map<string, TtqLayer>();
  const optimizer = opts.optimizer ?? { name: 'adam', lr: 1e-4 };
  const scaleBaseLr = optimizer.lr ?? (optimizer.name === 'sgd' ? 0.01 : 1e-3);
  const snapshots = new Map<number, Ranges>();
  const r = await train({
    openRunner,
    model,
    train: opts.train,
    ...(opts.validation ? { validation: opts.validation } : {}),
    epochs: opts.epochs,
    batchSize,
    seed: opts.seed ?? 0,
    optimizer,
    ...(opts.loss ? { loss: opts.loss } : {}),
    ...(opts.batchFeeds ? { batchFeeds: opts.batchFeeds } : {}),
    ...(opts.maxStepsPerEpoch === undefined ? {} : { maxStepsPerEpoch: opts.maxStepsPerEpoch }),
    ...(opts.earlyStopping ? { earlyStopping: opts.earlyStopping } : {}),
    ...(opts.restoreBest === undefined ? {} : { restoreBest: opts.restoreBest }),
    trainingModel: (m) => withRangeOutputs(specs.length ? insertFakeQuant(m, specs).model : cloneModel(m), acts),
    weightViews: (live) => {
      for (const [name, q] of quantizers) {
        const shadow = live.get(name);
        if (!shadow) continue;
        const layer = layers.find((l) => l.name === name)!;
        if (scheme === 'ttq' && !ends.includes(name)) {
          const t = new TtqLayer(shadow, layer.shape, layerAxis(layer));
          ttq.set(name, t);
          views.set(name, { fed: t.fed, refresh: () => t.refresh() });
        } else {
          const fed = q(shadow);
          views.set(name, { fed, refresh: () => fed.set(q(shadow)) });
        }
      }
      return new Map([...views].map(([name, v]) => [name, v.fed]));
    },
    ...(ttq.size === 0 && scheme !== 'ttq'
      ? {}
      : {
          gradientHook: (grads: Map<string, Float32Array>, step: number) => {
            const lr = scaleLr(scaleBaseLr, optimizer.schedule, step);
            for (const [name, t] of ttq) {
              const g = grads.get(name);
              if (g) t.stepScales(g, lr);
            }
          },
        }),
    afterStep: () => {
      for (const v of views.values()) v.refresh();
    },
    extraFeeds,
    extraOutputs: acts.flatMap((t) => [minName(t), maxName(t)]),
    onStepOutputs: (out) => {
      for (const t of acts) {
        const range = ranges.get(t)!;
        range.min = decay * range.min + (1 - decay) * floatValues(out[minName(t)]!)[0]!;
        range.max = decay * range.max + (1 - decay) * floatValues(out[maxName(t)]!)[0]!;
      }
      refreshActivationFeeds();
    },
    onProgress: (e) => {
      if (e.kind === 'epoch') snapshots.set(e.record.epoch, copyRanges(ranges));
      opts.onProgress?.(e);
    },
    ...where,
  });

  const floatModel = r.model;
  // ttq exports the fed weights (codes times the learned scales), which the ttq scheme stores as they are.
  const exportModel = ttq.size === 0 ? floatModel : cloneModel(floatModel);
  if (ttq.size > 0) setInitializerValues(exportModel, new Map([...ttq].map(([n, t]) => [n, t.fed])));
  const exported = snapshots.get(r.bestEpoch) ?? ranges;
  const activations: ActivationRange[] = acts.map((t) => {
    const range = exported.get(t)!;
    const p = activationParams(range.min, range.max);
    return { tensor: t, min: range.min, max: range.max, scale: p.scale, zeroPoint: p.zeroPoint };
  });
  const exportReport =
    scheme === 'int8'
      ? await quantizeStatic(floatModel, {
          ...STATIC_EXPORT,
          calibration: [dummyFeed],
          ...where,
          openRunner: rangeRunner((t) => exported.get(t), file),
        })
      : isLowBitScheme(scheme)
        ? await lowBitExport(exportModel, scheme, ends, file)
        : await quantizeModel(floatModel, 'int4', { blockSize, ...where });
  const fakeQuantized = [...quantizers.keys()];
  return {
    model: exportReport.model,
    floatModel,
    history: r.history,
    bestEpoch: r.bestEpoch,
    stoppedEarly: r.stoppedEarly,
    activations,
    fakeQuantized,
    exportReport,
  };
}

/** The channel axis binary/ternary codes use for a layer (as the ternary weight pass picks it). */
function layerAxis(layer: CompressibleLayer): number | undefined {
  return layer.role.channelAxis !== undefined && layer.shape.length >= 1 ? layer.role.channelAxis : undefined;
}

/** Names of the layers binary/ternary QAT keeps at 8 bits: the first and last in graph order (none when not asked). */
function endLayers(layers: readonly CompressibleLayer[], scheme: QatScheme, keep: boolean): string[] {
  if (!keep || !isLowBitScheme(scheme)) return [];
  return [...new Set([layers[0]!.name, layers[layers.length - 1]!.name])];
}

/** A pattern matching exactly one tensor name. */
const exactly = (name: string): string => `/^${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$/`;

/**
 * The binary/ternary export: every Conv/Gemm/MatMul weight as packed codes + per-channel scales
 * (BatchNormalization not folded first: QAT trained the unfolded weights), `ends` as int8 weight-only.
 */
async function lowBitExport(model: ModelProto, scheme: LowBitScheme, ends: readonly string[], file?: string): Promise<SchemeResult> {
  const where = file === undefined ? {} : { file };
  const low = await quantizeModel(model, scheme, { minSize: 1, foldBatchNorm: false, exclude: ends.map(exactly), ...where });
  if (ends.length === 0) return low;
  const eight = await quantizeModel(low.model, 'int8', {
    perChannel: true,
    symmetric: true,
    minSize: 1,
    foldBatchNorm: false,
    include: ends.map(exactly),
    ...where,
  });
  return {
    model: eight.model,
    tensors: [...low.tensors.filter((t) => t.action !== 'skipped'), ...eight.tensors.filter((t) => t.action !== 'skipped')],
    notes: [...low.notes, ...eight.notes, `kept at 8 bits (int8 weight-only, per channel): ${ends.join(', ')}`],
  };
}

function copyRanges(ranges: Ranges): Ranges {
  return new Map([...ranges].map(([t, r]) => [t, { ...r }]));
}

const minName = (t: string): string => `${t}_qat_batch_min`;
const maxName = (t: string): string => `${t}_qat_batch_max`;

/** `model` plus ReduceMin/ReduceMax of each tensor of `acts` as extra graph outputs. */
function withRangeOutputs(model: ModelProto, acts: readonly string[]): ModelProto {
  const graph = model.graph!;
  for (const t of acts) {
    for (const [op, name] of [
      ['ReduceMin', minName(t)],
      ['ReduceMax', maxName(t)],
    ] as const) {
      graph.node.push(
        create(NodeProtoSchema, {
          name: `${name}_node`,
          opType: op,
          input: [t],
          output: [name],
          attribute: makeAttributes({ keepdims: 0 }),
        }),
      );
      graph.output.push(makeValueInfo(name, 1, []));
    }
  }
  return model;
}

/** Starting ranges: min/max of each activation over the first (up to) 512 training examples, float model. */
async function initialRanges(
  openRunner: RunnerFactory,
  model: ModelProto,
  acts: readonly string[],
  data: Dataset,
  inputName: string,
  feedShape: readonly number[],
  file?: string,
): Promise<Ranges> {
  const ranges: Ranges = new Map();
  if (acts.length === 0) return ranges;
  const probe = withRangeOutputs(withDynamicBatch(cloneModel(model), inputName), acts);
  const runner = await openRunner(writeOnnx(probe), {
    ...TRAINING_RUNNER_OPTIONS,
    generated: 'the QAT activation-range probe',
    ...(file === undefined ? {} : { file }),
  });
  try {
    const first = floatView(limitSamples(data, 512));
    const x = floatTensor(first.inputs, [first.count, ...feedShape]);
    const out = await runner.run(
      { [inputName]: x },
      acts.flatMap((t) => [minName(t), maxName(t)]),
    );
    for (const t of acts) ranges.set(t, { min: floatValues(out[minName(t)]!)[0]!, max: floatValues(out[maxName(t)]!)[0]! });
  } finally {
    await runner.dispose();
  }
  return ranges;
}

/**
 * Static export settings: weights symmetric int8 per channel, BatchNormalization
 * left unfolded (QAT trained the unfolded weights), ranges by min/max.
 */
const STATIC_EXPORT = { calibMethod: 'minmax', perChannel: true, symmetric: true, fold: 'none' } as const;

/**
 * The activations static export quantizes, asked from the exporter itself:
 * a dry run whose calibration runner records which tensors it is asked for.
 */
async function staticActivationTensors(model: ModelProto, feed: CalibrationFeed, file?: string): Promise<string[]> {
  const asked = new Set<string>();
  await quantizeStatic(model, {
    ...STATIC_EXPORT,
    calibration: [feed],
    ...(file === undefined ? {} : { file }),
    openRunner: rangeRunner((t) => {
      asked.add(t);
      return { min: 0, max: 1 };
    }, file),
  });
  return [...asked];
}

/**
 * A Runner for static quantization's calibration step that answers from
 * `range`: each requested tensor comes back as [min, max], so the 'minmax'
 * method yields exactly those ranges (the QAT moving averages at export).
 */
function rangeRunner(range: (tensor: string) => { min: number; max: number } | undefined, file?: string): RunnerFactory {
  return async () => {
    const runner: Runner = {
      inputs: [],
      outputs: [],
      run: async (_feeds, names) => {
        const out: Record<string, { dtype: 'float32'; shape: number[]; data: Uint8Array }> = {};
        for (const t of names ?? []) {
          const r = range(t);
          if (!r)
            throw new ModelpressError(
              'E_GRAPH',
              `static export asks for the range of '${t}', which QAT did not track`,
              file === undefined ? {} : { file },
            );
          out[t] = { dtype: 'float32', shape: [2], data: new Uint8Array(Float32Array.of(r.min, r.max).buffer) };
        }
        return out;
      },
      dispose: async () => {},
    };
    return runner;
  };
}

/** Post-training quantization with the scheme QAT exports to (the baseline QAT is measured against): static QDQ calibrated on `calibSize` training examples, or int4. */
export async function ptqBaseline(
  model: ModelProto,
  scheme: QatScheme,
  data: Dataset,
  opts: { openRunner: RunnerFactory; blockSize: number; calibSize: number; keepEnds8Bit?: boolean; file?: string },
): Promise<ModelProto> {
  if (isLowBitScheme(scheme))
    return (
      await lowBitExport(model, scheme, endLayers(requireLayers(model, 'qat', opts.file), scheme, opts.keepEnds8Bit ?? false), opts.file)
    ).model;
  if (scheme === 'int4')
    return (await quantizeModel(model, 'int4', { blockSize: opts.blockSize, ...(opts.file === undefined ? {} : { file: opts.file }) }))
      .model;
  // calibration runs batches of up to 128: a model declaring a batch of 1 gets a free batch dim (train/trainer does the same)
  model = withDynamicBatch(model, resolveModelIo(model, {}, opts.file).inputName);
  const train = floatView(data);
  const n = Math.min(opts.calibSize, train.count);
  const size = train.sampleShape.reduce((a, b) => a * b, 1);
  const input = model.graph!.input.find((v) => !model.graph!.initializer.some((t) => t.name === v.name))!.name;
  const calibration = [];
  for (let s = 0; s < n; s += 128) {
    const m = Math.min(128, n - s);
    calibration.push({
      [input]: { dtype: 'float32', shape: [m, ...train.sampleShape], data: train.inputs.slice(s * size, (s + m) * size) },
    });
  }
  return (
    await quantizeStatic(model, {
      calibration,
      calibMethod: 'minmax',
      perChannel: true,
      symmetric: true,
      openRunner: opts.openRunner,
      ...(opts.file === undefined ? {} : { file: opts.file }),
    })
  ).model;
}
