/**
 * One onnxruntime session on the training graph and the buffers it is fed
 * from: weights as inputs (ort tensors over the live arrays the optimizer
 * updates in place), a reusable batch buffer and int64 labels. One `run`
 * returns the loss, the gradients and the batch statistics of BatchNormalization.
 */
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import type { OrtModuleLike, OrtSessionLike, OrtTensorLike } from '../../runtime/ort-session.js';
import type { TrainingGraph } from '../autodiff/types.js';
import { sampleSize, type ClassificationData } from './data.js';

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
}

export class StepSession {
  private readonly fullInputs: Float32Array;
  private readonly fullLabels: BigInt64Array;
  private readonly fullInputTensor: OrtTensorLike;
  private readonly fullLabelTensor: OrtTensorLike | undefined;
  private readonly fetches: string[];

  private constructor(
    private readonly ort: OrtModuleLike,
    private readonly session: OrtSessionLike,
    private readonly graph: TrainingGraph,
    private readonly names: { input: string; labels: string | undefined; logits: string | undefined },
    private readonly feedShape: readonly number[],
    private readonly batchSize: number,
    private readonly weightFeeds: Record<string, OrtTensorLike>,
    private readonly batchFeeds: BatchFeeds | undefined,
  ) {
    const size = feedShape.reduce((a, b) => a * b, 1);
    this.fullInputs = new Float32Array(batchSize * size);
    this.fullLabels = new BigInt64Array(batchSize);
    this.fullInputTensor = new ort.Tensor('float32', this.fullInputs, [batchSize, ...feedShape]);
    this.fullLabelTensor = names.labels === undefined ? undefined : new ort.Tensor('int64', this.fullLabels, [batchSize]);
    this.fetches = [graph.lossOutput, ...graph.params.map((p) => p.grad), ...graph.batchNorm.flatMap((b) => [b.batchMean, b.batchVar])];
    if (names.logits !== undefined) this.fetches.push(names.logits);
  }

  /**
   * `weights`: live arrays by trainable name (fed every step, read at run
   * time, so in-place optimizer updates are seen without new tensors).
   */
  static async create(
    ort: OrtModuleLike,
    graph: TrainingGraph,
    weights: ReadonlyMap<string, Float32Array>,
    opts: { feedShape: readonly number[]; batchSize: number; logits: string | undefined; batchFeeds?: BatchFeeds; sessionOptions?: Record<string, unknown> },
  ): Promise<StepSession> {
    const modelInputs = graph.dataInputs.filter((d) => d.role === 'model');
    if (modelInputs.length !== 1) throw new ModelpressError('E_UNSUPPORTED', `training graph has ${modelInputs.length} model data inputs; the trainer feeds exactly one`);
    const labels = graph.dataInputs.find((d) => d.role === 'labels');
    if (labels && labels.elemType !== 7) throw new ModelpressError('E_UNSUPPORTED', `labels input '${labels.name}' has ONNX element type ${labels.elemType}; expected int64 (7)`);
    const weightFeeds: Record<string, OrtTensorLike> = {};
    for (const p of graph.params) {
      const data = weights.get(p.name);
      if (!data) throw new ModelpressError('E_NOT_FOUND', `no weights for trainable parameter '${p.name}'`);
      if (p.dtype !== 'float32') throw new ModelpressError('E_UNSUPPORTED', `parameter '${p.name}' is ${p.dtype}; the trainer updates float32 weights`);
      weightFeeds[p.name] = new ort.Tensor('float32', data, p.shape);
    }
    let session: OrtSessionLike;
    try {
      session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, graph.model), { graphOptimizationLevel: 'all', ...opts.sessionOptions });
    } catch (e) {
      throw new ModelpressError('E_GRAPH', `onnxruntime cannot load the training graph: ${String((e as Error).message ?? e).split('\n')[0]}`, { cause: e });
    }
    return new StepSession(ort, session, graph, { input: modelInputs[0]!.name, labels: labels?.name, logits: opts.logits }, opts.feedShape, opts.batchSize, weightFeeds, opts.batchFeeds);
  }

  /** Runs forward + backward on the examples `indices[0..size)` of `data`. */
  async run(data: ClassificationData, indices: Uint32Array, size: number): Promise<StepOutput> {
    const exampleSize = sampleSize(data);
    const full = size === this.batchSize;
    const inputs = full ? this.fullInputs : new Float32Array(size * exampleSize);
    const labels = full ? this.fullLabels : new BigInt64Array(size);
    for (let k = 0; k < size; k++) {
      const i = indices[k]!;
      inputs.set(data.inputs.subarray(i * exampleSize, (i + 1) * exampleSize), k * exampleSize);
      labels[k] = BigInt(data.labels[i]!);
    }
    const feeds: Record<string, OrtTensorLike> = { ...this.weightFeeds };
    feeds[this.names.input] = full ? this.fullInputTensor : new this.ort.Tensor('float32', inputs, [size, ...this.feedShape]);
    if (this.names.labels !== undefined) feeds[this.names.labels] = full ? this.fullLabelTensor! : new this.ort.Tensor('int64', labels, [size]);
    if (this.batchFeeds) {
      for (const [name, v] of Object.entries(this.batchFeeds(indices, size))) feeds[name] = new this.ort.Tensor('float32', v.data, v.dims);
    }
    let out: Record<string, OrtTensorLike>;
    try {
      out = await this.session.run(feeds, this.fetches);
    } catch (e) {
      throw new ModelpressError('E_SHAPE', `onnxruntime failed on a training batch of ${size} examples: ${String((e as Error).message ?? e).split('\n')[0]}`, { cause: e });
    }
    const loss = Number((out[this.graph.lossOutput]!.data as Float32Array)[0]);
    const grads = new Map<string, Float32Array>();
    for (const p of this.graph.params) grads.set(p.name, out[p.grad]!.data as Float32Array);
    const stats = new Map<string, Float32Array>();
    for (const b of this.graph.batchNorm) {
      stats.set(b.batchMean, out[b.batchMean]!.data as Float32Array);
      stats.set(b.batchVar, out[b.batchVar]!.data as Float32Array);
    }
    let correct: number | undefined;
    if (this.names.logits !== undefined && this.names.labels !== undefined) {
      const logits = out[this.names.logits]!;
      const values = logits.data as Float32Array;
      const classes = values.length / size;
      correct = 0;
      for (let k = 0; k < size; k++) {
        const row = k * classes;
        let best = 0;
        for (let c = 1; c < classes; c++) if (values[row + c]! > values[row + best]!) best = c;
        if (BigInt(best) === labels[k]) correct++;
      }
    }
    return { loss, grads, correct, stats };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
