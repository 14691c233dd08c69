/**
 * Accuracy and mean cross-entropy of a forward model on held-out data, with
 * the current weights fed as inputs (one runner for the whole run).
 */
import type { ModelProto } from 'onnx-buf';
import { writeOnnx } from '../../formats/onnx/write.js';
import type { Tensor } from '../../core/tensor.js';
import { classifierLogits, type ClassifierIo } from '../../runtime/classifier.js';
import type { Runner, RunnerFactory } from '../../runtime/runner.js';
import { floatTensor } from '../../runtime/tensors.js';
import type { FloatView } from '../../data/dataset.js';
import { withInitializersAsInputs } from './model-io.js';
import { TRAINING_RUNNER_OPTIONS } from '../../runtime/runner.js';

export interface EvalResult {
  /** Fraction of examples whose arg-max logit is the label, in [0, 1]. */
  accuracy: number;
  /** Mean softmax cross-entropy (nats). */
  loss: number;
  count: number;
}

export class Evaluator {
  private constructor(
    private readonly runner: Runner,
    private readonly io: ClassifierIo,
    private readonly weightFeeds: Record<string, Tensor>,
    private readonly batchSize: number,
    private readonly file: string | undefined,
  ) {}

  /**
   * Opens a runner on `model` with `weights` (name -> live array, read at
   * every evaluation) turned into inputs; `extraFeeds` are fed as they are.
   */
  static async create(
    openRunner: RunnerFactory,
    model: ModelProto,
    weights: ReadonlyMap<string, { data: Float32Array; dims: readonly number[] }>,
    io: ClassifierIo,
    opts: { batchSize?: number; extraFeeds?: Readonly<Record<string, Tensor>>; file?: string } = {},
  ): Promise<Evaluator> {
    const evalModel = weights.size ? withInitializersAsInputs(model, [...weights.keys()]) : model;
    const runner = await openRunner(writeOnnx(evalModel), {
      ...TRAINING_RUNNER_OPTIONS,
      ...(opts.file === undefined ? {} : { file: opts.file }),
    });
    const feeds: Record<string, Tensor> = { ...opts.extraFeeds };
    for (const [name, w] of weights) feeds[name] = floatTensor(w.data, w.dims);
    return new Evaluator(runner, io, feeds, opts.batchSize ?? 1000, opts.file);
  }

  async evaluate(data: FloatView): Promise<EvalResult> {
    const r = await classifierLogits(this.runner, data, this.io, {
      batchSize: this.batchSize,
      extraFeeds: this.weightFeeds,
      strictLabels: true,
      ...(this.file === undefined ? {} : { file: this.file }),
    });
    return { accuracy: r.accuracy, loss: r.loss, count: r.count };
  }

  async dispose(): Promise<void> {
    await this.runner.dispose();
  }
}
