/**
 * One onnxruntime session on the training graph and the buffers it is fed
 * from: weights as inputs (ort tensors over the live arrays the optimizer
 * updates in place), a reusable batch buffer and int64 labels. One `run`
 * returns the loss, the gradients and the batch statistics of BatchNormalization.
 */
import { ModelpressError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { writeOnnx } from '../../formats/onnx/write.js';
import { argmax } from '../../runtime/classifier.js';
import type { Runner, RunnerFactory } from '../../runtime/runner.js';
import { floatTensor, floatValues, int64Tensor } from '../../runtime/tensors.js';
import type { FloatView } from '../../data/dataset.js';
import type { TrainingGraph } from '../autodiff/types.js';
import { TRAINING_RUNNER_OPTIONS } from '../../runtime/runner.js';

/** Extra per-batch inputs (teacher logits, targets): name -> values for the examples at `indices`. */
export type BatchFeeds = (indices: Uint32Array, size: number) => Record<string, { data: Float32Array; dims: readonly number[] }>;

export interface StepOutput {
  loss: number;
  /** Gradient per trainable parameter name (fresh arrays owned by the caller). */
  grads: Map<string, Float32Array>;
  /** Examples of the batch whose arg-max logit matched the label (undefined without labels). */
  correct: number | undefined;
  /** Batch mean / variance per BatchNormalization node (output name -> values). */
  stats: Map<string, Float32Array>;
  /** The extra outputs asked for at creation, by name. */
  extra: Record<string, Tensor>;
}

export interface StepSessionOptions {
  /** The data input the batches go to. */
  inputName: string;
  feedShape: readonly number[];
  batchSize: number;
  logits: string | undefined;
  batchFeeds?: BatchFeeds;
  /** Inputs fed with every step as they are (read at run time: fake-quantization scales, for instance). */
  extraFeeds?: Readonly<Record<string, Tensor>>;
  /** Graph outputs fetched with every step besides loss, gradients and statistics. */
  extraOutputs?: readonly string[];
  file?: string;
}

export class StepSession {
  private readonly fullInputs: Float32Array;
  private readonly fullLabels: BigInt64Array;
  private readonly fullInputTensor: Tensor;
  private readonly fullLabelTensor: Tensor | undefined;
  private readonly fetches: string[];

  private constructor(
    private readonly runner: Runner,
    private readonly graph: TrainingGraph,
    private readonly names: { input: string; labels: string | undefined; logits: string | undefined },
    private readonly opts: StepSessionOptions,
    private readonly baseFeeds: Record<string, Tensor>,
  ) {
    const { feedShape, batchSize } = opts;
    const size = feedShape.reduce((a, b) => a * b, 1);
    this.fullInputs = new Float32Array(batchSize * size);
    this.fullLabels = new BigInt64Array(batchSize);
    this.fullInputTensor = floatTensor(this.fullInputs, [batchSize, ...feedShape]);
    this.fullLabelTensor = names.labels === undefined ? undefined : int64Tensor(this.fullLabels, [batchSize]);
    this.fetches = [graph.lossOutput, ...graph.params.map((p) => p.grad), ...graph.batchNorm.flatMap((b) => [b.batchMean, b.batchVar])];
    if (names.logits !== undefined) this.fetches.push(names.logits);
    for (const o of opts.extraOutputs ?? []) if (!this.fetches.includes(o)) this.fetches.push(o);
  }

  /**
   * `weights`: the arrays fed per trainable name (tensors viewing them, no
   * copies, read at run time, so in-place optimizer updates are seen).
   */
  static async create(
    openRunner: RunnerFactory,
    graph: TrainingGraph,
    weights: ReadonlyMap<string, Float32Array>,
    opts: StepSessionOptions,
  ): Promise<StepSession> {
    const where = opts.file === undefined ? {} : { file: opts.file };
    const unfed = graph.dataInputs.filter((d) => d.role === 'model' && d.name !== opts.inputName && !(d.name in (opts.extraFeeds ?? {})));
    if (unfed.length)
      throw new ModelpressError(
        'E_UNSUPPORTED',
        `training graph has model data inputs the trainer does not feed: ${unfed.map((d) => d.name).join(', ')}`,
        where,
      );
    const labels = graph.dataInputs.find((d) => d.role === 'labels');
    if (labels && labels.elemType !== 7)
      throw new ModelpressError(
        'E_UNSUPPORTED',
        `labels input '${labels.name}' has ONNX element type ${labels.elemType}; expected int64 (7)`,
        where,
      );
    const baseFeeds: Record<string, Tensor> = { ...opts.extraFeeds };
    for (const p of graph.params) {
      const data = weights.get(p.name);
      if (!data) throw new ModelpressError('E_NOT_FOUND', `no weights for trainable parameter '${p.name}'`, where);
      if (p.dtype !== 'float32')
        throw new ModelpressError('E_UNSUPPORTED', `parameter '${p.name}' is ${p.dtype}; the trainer updates float32 weights`, where);
      baseFeeds[p.name] = floatTensor(data, p.shape);
    }
    const runner = await openRunner(writeOnnx(graph.model), { ...TRAINING_RUNNER_OPTIONS, generated: 'the training graph', ...where });
    return new StepSession(runner, graph, { input: opts.inputName, labels: labels?.name, logits: opts.logits }, opts, baseFeeds);
  }

  /** Runs forward + backward on the examples `indices[0..size)` of `data` (labelled when the loss reads labels: the trainer checked). */
  async run(data: FloatView, indices: Uint32Array, size: number): Promise<StepOutput> {
    const exampleSize = data.sampleShape.reduce((a, b) => a * b, 1);
    const dataLabels = this.names.labels === undefined ? undefined : data.labels!;
    const full = size === this.opts.batchSize;
    const inputs = full ? this.fullInputs : new Float32Array(size * exampleSize);
    const labels = full ? this.fullLabels : new BigInt64Array(size);
    for (let k = 0; k < size; k++) {
      const i = indices[k]!;
      inputs.set(data.inputs.subarray(i * exampleSize, (i + 1) * exampleSize), k * exampleSize);
      if (dataLabels) labels[k] = BigInt(dataLabels[i]!);
    }
    const feeds: Record<string, Tensor> = { ...this.baseFeeds };
    feeds[this.names.input] = full ? this.fullInputTensor : floatTensor(inputs, [size, ...this.opts.feedShape]);
    if (this.names.labels !== undefined) feeds[this.names.labels] = full ? this.fullLabelTensor! : int64Tensor(labels, [size]);
    if (this.opts.batchFeeds) {
      for (const [name, v] of Object.entries(this.opts.batchFeeds(indices, size))) feeds[name] = floatTensor(v.data, v.dims);
    }
    const out = await this.runner.run(feeds, this.fetches);
    const loss = Number(floatValues(out[this.graph.lossOutput]!)[0]);
    const grads = new Map<string, Float32Array>();
    for (const p of this.graph.params) grads.set(p.name, floatValues(out[p.grad]!));
    const stats = new Map<string, Float32Array>();
    for (const b of this.graph.batchNorm) {
      stats.set(b.batchMean, floatValues(out[b.batchMean]!));
      stats.set(b.batchVar, floatValues(out[b.batchVar]!));
    }
    let correct: number | undefined;
    if (this.names.logits !== undefined && this.names.labels !== undefined) {
      const values = floatValues(out[this.names.logits]!);
      const classes = values.length / size;
      correct = 0;
      for (let k = 0; k < size; k++) if (BigInt(argmax(values, k * classes, classes)) === labels[k]) correct++;
    }
    const extra: Record<string, Tensor> = {};
    for (const o of this.opts.extraOutputs ?? []) extra[o] = out[o]!;
    return { loss, grads, correct, stats, extra };
  }

  async dispose(): Promise<void> {
    await this.runner.dispose();
  }
}
