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
 * DequantizeLinear blocks): the exported weights are exactly the q(w) the
 * last step trained with.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, NodeProtoSchema, type ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { makeAttributes } from '../graph/attributes.js';
import { cloneModel, getInitializerValues, setInitializerValues } from '../graph/model-edit.js';
import { makeValueInfo } from '../graph/value-info.js';
import { quantizeModel } from '../quantize/index.js';
import { quantizeStatic } from '../quantize/static/index.js';
import type { CalibrationFeed, SchemeResult } from '../quantize/types.js';
import type { OrtModuleLike, OrtSessionLike, OrtTensorLike } from '../runtime/ort-session.js';
import type { Runner, RunnerFactory } from '../runtime/runner.js';
import { buildTrainingGraph, insertFakeQuant, updateRunningStats, type FakeQuantSpec } from '../train/autodiff/index.js';
import { createOptimizer, type OptimizerSpec } from '../train/optim/index.js';
import { createRng, shuffleInPlace } from '../train/random.js';
import { DEFAULT_SESSION_OPTIONS, type EpochRecord, type TrainProgress } from '../train/trainer.js';
import { checkData, sampleSize, type ClassificationData } from '../train/trainer/data.js';
import { defaultTrainableNames, fitSampleShape, resolveModelIo, runningStatNames } from '../train/trainer/model-io.js';
import { requireLayers } from './layers.js';
import { activationParams } from './qat-activations.js';
import { QAT_SCHEMES, weightFakeQuant, type QatScheme, type WeightFakeQuant } from './weight-fake-quant.js';

export interface QatOptions {
  ort: OrtModuleLike;
  /** The trained float model (not mutated). */
  model: ModelProto;
  train: ClassificationData;
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
  /** Cap on steps per epoch (quick runs); default the whole training set. */
  maxStepsPerEpoch?: number;
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
  /** int8: learned activation ranges (empty for int4, which is weight-only). */
  activations: ActivationRange[];
  /** Weights trained with fake quantization. */
  fakeQuantized: string[];
  /** The export's per-tensor report. */
  exportReport: SchemeResult;
}

/** Runs QAT and exports the quantized model. */
export async function quantizationAwareTraining(opts: QatOptions): Promise<QatResult> {
  const { ort, model, scheme, file } = opts;
  const where = file === undefined ? {} : { file };
  if (!QAT_SCHEMES.includes(scheme)) throw new ModelpressError('E_ARG', `QAT scheme must be one of ${QAT_SCHEMES.join(', ')}, got '${scheme}'`);
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) throw new ModelpressError('E_ARG', `epochs must be an integer >= 1, got ${opts.epochs}`);
  const batchSize = opts.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ModelpressError('E_ARG', `batch size must be an integer >= 1, got ${batchSize}`);
  const blockSize = opts.blockSize ?? 32;
  if (!(Number.isInteger(blockSize) && blockSize >= 16 && blockSize <= 256 && (blockSize & (blockSize - 1)) === 0)) throw new ModelpressError('E_ARG', `block size must be a power of two in 16..256, got ${blockSize}`);
  const decay = opts.emaDecay ?? 0.99;
  if (!(decay >= 0 && decay < 1)) throw new ModelpressError('E_ARG', `EMA decay must be in [0, 1), got ${decay}`);
  checkData(opts.train, 'training data');
  if (opts.train.count === 0) throw new ModelpressError('E_ARG', 'training data is empty');

  const io = resolveModelIo(model, {}, file);
  const feedShape = fitSampleShape(io, opts.train.sampleShape, file);
  const layers = requireLayers(model, 'qat', file);
  const quantizers = new Map<string, WeightFakeQuant>();
  for (const l of layers) {
    const q = weightFakeQuant(scheme, l, blockSize);
    if (q) quantizers.set(l.name, q);
  }
  if (quantizers.size === 0) throw new ModelpressError('E_UNSUPPORTED', `qat ${scheme}: no weight the ${scheme} export quantizes (int4 leaves tensors under 256 elements float)`, where);

  // Activations (int8): fake quantization fed by moving-average ranges, plus min/max outputs for the averages.
  const dummyFeed = { [io.inputName]: { dtype: 'float32', shape: [1, ...feedShape], data: new Float32Array(feedShape.reduce((a, b) => a * b, 1)) } };
  const acts = scheme === 'int8' ? await staticActivationTensors(model, dummyFeed, file) : [];
  const consumed = new Set(model.graph!.node.flatMap((n) => n.input));
  const specs: FakeQuantSpec[] = acts.filter((t) => consumed.has(t)).map((t) => ({ tensor: t, bits: 8, signed: false, scaleInput: `${t}_qat_scale`, zeroPointInput: `${t}_qat_zero_point` }));
  let graphModel = specs.length ? insertFakeQuant(model, specs).model : cloneModel(model);
  graphModel = withRangeOutputs(graphModel, acts);
  const trainable = defaultTrainableNames(model);
  const tg = buildTrainingGraph(graphModel, { loss: { kind: 'cross-entropy' }, trainable, output: io.outputName });
  const labels = tg.dataInputs.find((d) => d.role === 'labels')!.name;

  const ranges = await initialRanges(ort, model, acts, opts.train, io.inputName, feedShape, file);
  const scaleFeeds = new Map(specs.map((s) => [s.tensor, { scale: new Float32Array(1), zeroPoint: new Float32Array(1) }]));
  const refreshActivationFeeds = (): void => {
    for (const [t, f] of scaleFeeds) {
      const r = ranges.get(t)!;
      const p = activationParams(r.min, r.max);
      f.scale[0] = p.scale;
      f.zeroPoint[0] = p.zeroPoint;
    }
  };

  // Shadow weights (optimizer) and the values fed to the graph (q(shadow) for fake-quantized weights).
  const shadow = new Map<string, Float32Array>();
  const fed = new Map<string, Float32Array>();
  for (const p of tg.params) {
    const w = Float32Array.from(p.initial);
    shadow.set(p.name, w);
    const q = quantizers.get(p.name);
    fed.set(p.name, q ? q(w) : w);
  }
  const refreshWeights = (): void => {
    for (const [name, q] of quantizers) fed.get(name)!.set(q(shadow.get(name)!));
  };
  const statNames = runningStatNames(model);
  const running = getInitializerValues(model, statNames);
  const optimizer = createOptimizer(tg.params.map((p) => ({ name: p.name, data: shadow.get(p.name)! })), opts.optimizer ?? { name: 'adam', lr: 1e-4 });

  let session: OrtSessionLike;
  try {
    session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, tg.model), { graphOptimizationLevel: 'all', ...DEFAULT_SESSION_OPTIONS });
  } catch (e) {
    throw new ModelpressError('E_GRAPH', `onnxruntime cannot load the QAT training graph: ${String((e as Error).message ?? e).split('\n')[0]}`, { cause: e, ...where });
  }
  const baseFeeds: Record<string, OrtTensorLike> = {};
  for (const p of tg.params) baseFeeds[p.name] = new ort.Tensor('float32', fed.get(p.name)!, p.shape);
  for (const s of specs) {
    const f = scaleFeeds.get(s.tensor)!;
    baseFeeds[s.scaleInput!] = new ort.Tensor('float32', f.scale, [1]);
    baseFeeds[s.zeroPointInput!] = new ort.Tensor('float32', f.zeroPoint, [1]);
  }
  const rangeOutputs = acts.flatMap((t) => [minName(t), maxName(t)]);
  const fetches = [tg.lossOutput, io.outputName, ...tg.params.map((p) => p.grad), ...rangeOutputs, ...tg.batchNorm.flatMap((b) => [b.batchMean, b.batchVar])];

  const data = opts.train;
  const exampleSize = sampleSize(data);
  const order = new Uint32Array(data.count);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const rng = createRng(opts.seed ?? 0);
  const steps = Math.min(Math.ceil(data.count / batchSize), opts.maxStepsPerEpoch ?? Infinity);
  const history: EpochRecord[] = [];
  try {
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      shuffleInPlace(order, rng);
      const started = Date.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let lrFactor = 1;
      for (let s = 0; s < steps; s++) {
        const start = s * batchSize;
        const size = Math.min(batchSize, data.count - start);
        const x = new Float32Array(size * exampleSize);
        const y = new BigInt64Array(size);
        for (let k = 0; k < size; k++) {
          const i = order[start + k]!;
          x.set(data.inputs.subarray(i * exampleSize, (i + 1) * exampleSize), k * exampleSize);
          y[k] = BigInt(data.labels[i]!);
        }
        refreshActivationFeeds();
        const feeds = { ...baseFeeds, [io.inputName]: new ort.Tensor('float32', x, [size, ...feedShape]), [labels]: new ort.Tensor('int64', y, [size]) };
        let out: Record<string, OrtTensorLike>;
        try {
          out = await session.run(feeds, fetches);
        } catch (e) {
          throw new ModelpressError('E_SHAPE', `onnxruntime failed on a QAT batch of ${size} examples: ${String((e as Error).message ?? e).split('\n')[0]}`, { cause: e, ...where });
        }
        const loss = Number((out[tg.lossOutput]!.data as Float32Array)[0]);
        if (!Number.isFinite(loss)) throw new ModelpressError('E_ARG', `QAT diverged: loss is ${loss} at epoch ${epoch}, step ${s + 1} (lower the learning rate)`, where);
        for (const t of acts) {
          const r = ranges.get(t)!;
          r.min = decay * r.min + (1 - decay) * Number((out[minName(t)]!.data as Float32Array)[0]);
          r.max = decay * r.max + (1 - decay) * Number((out[maxName(t)]!.data as Float32Array)[0]);
        }
        const grads = new Map(tg.params.map((p) => [p.name, out[p.grad]!.data as Float32Array]));
        lrFactor = optimizer.step(grads).lrFactor;
        refreshWeights();
        for (const b of tg.batchNorm) {
          updateRunningStats(running.get(b.runningMean)!, out[b.batchMean]!.data as Float32Array, b.momentum);
          updateRunningStats(running.get(b.runningVar)!, out[b.batchVar]!.data as Float32Array, b.momentum);
        }
        correct += countCorrect(out[io.outputName]!.data as Float32Array, y);
        lossSum += loss * size;
        seen += size;
        opts.onProgress?.({ kind: 'step', epoch, epochs: opts.epochs, step: s + 1, steps, loss: lossSum / seen, accuracy: correct / seen });
      }
      const record: EpochRecord = { epoch, trainLoss: lossSum / seen, trainAccuracy: correct / seen, validation: undefined, seconds: (Date.now() - started) / 1000, evalSeconds: 0, lrFactor };
      history.push(record);
      opts.onProgress?.({ kind: 'epoch', record, epochs: opts.epochs });
    }
  } finally {
    await session.release();
  }

  const floatModel = cloneModel(model);
  setInitializerValues(floatModel, new Map([...shadow, ...running]));
  const activations: ActivationRange[] = acts.map((t) => {
    const r = ranges.get(t)!;
    const p = activationParams(r.min, r.max);
    return { tensor: t, min: r.min, max: r.max, scale: p.scale, zeroPoint: p.zeroPoint };
  });
  const exportReport =
    scheme === 'int8'
      ? await quantizeStatic(floatModel, { ...STATIC_EXPORT, calibration: [dummyFeed], ...where, openRunner: rangeRunner((t) => ranges.get(t), file) })
      : await quantizeModel(floatModel, 'int4', { blockSize, ...where });
  return { model: exportReport.model, floatModel, history, activations, fakeQuantized: [...quantizers.keys()], exportReport };
}

const minName = (t: string): string => `${t}_qat_batch_min`;
const maxName = (t: string): string => `${t}_qat_batch_max`;

/** `model` plus ReduceMin/ReduceMax of each tensor of `acts` as extra graph outputs. */
function withRangeOutputs(model: ModelProto, acts: readonly string[]): ModelProto {
  const graph = model.graph!;
  for (const t of acts) {
    for (const [op, name] of [['ReduceMin', minName(t)], ['ReduceMax', maxName(t)]] as const) {
      graph.node.push(create(NodeProtoSchema, { name: `${name}_node`, opType: op, input: [t], output: [name], attribute: makeAttributes({ keepdims: 0 }) }));
      graph.output.push(makeValueInfo(name, 1, []));
    }
  }
  return model;
}

/** Starting ranges: min/max of each activation over the first (up to) 512 training examples, float model. */
async function initialRanges(ort: OrtModuleLike, model: ModelProto, acts: readonly string[], data: ClassificationData, inputName: string, feedShape: readonly number[], file?: string): Promise<Map<string, { min: number; max: number }>> {
  const ranges = new Map<string, { min: number; max: number }>();
  if (acts.length === 0) return ranges;
  const probe = withRangeOutputs(cloneModel(model), acts);
  const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, probe), DEFAULT_SESSION_OPTIONS);
  try {
    const n = Math.min(512, data.count);
    const x = new ort.Tensor('float32', data.inputs.subarray(0, n * sampleSize(data)), [n, ...feedShape]);
    const out = await session.run({ [inputName]: x }, acts.flatMap((t) => [minName(t), maxName(t)]));
    for (const t of acts) ranges.set(t, { min: Number((out[minName(t)]!.data as Float32Array)[0]), max: Number((out[maxName(t)]!.data as Float32Array)[0]) });
  } catch (e) {
    throw new ModelpressError('E_GRAPH', `onnxruntime failed measuring activation ranges: ${String((e as Error).message ?? e).split('\n')[0]}`, { cause: e, ...(file === undefined ? {} : { file }) });
  } finally {
    await session.release();
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
          if (!r) throw new ModelpressError('E_GRAPH', `static export asks for the range of '${t}', which QAT did not track`, file === undefined ? {} : { file });
          out[t] = { dtype: 'float32', shape: [2], data: new Uint8Array(Float32Array.of(r.min, r.max).buffer) };
        }
        return out;
      },
      dispose: async () => {},
    };
    return runner;
  };
}

function countCorrect(logits: Float32Array, labels: BigInt64Array): number {
  const n = labels.length;
  const classes = logits.length / n;
  let correct = 0;
  for (let k = 0; k < n; k++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[k * classes + c]! > logits[k * classes + best]!) best = c;
    if (BigInt(best) === labels[k]) correct++;
  }
  return correct;
}
