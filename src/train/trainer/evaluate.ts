/**
 * Accuracy and mean cross-entropy of a forward model on held-out data, with
 * the current weights fed as inputs (one runner for the whole run).
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import { writeOnnx } from '../../formats/onnx/write.js';
import type { Tensor } from '../../core/tensor.js';
import { classifierLogits, type ClassifierIo } from '../../runtime/classifier.js';
import type { Runner, RunnerFactory } from '../../runtime/runner.js';
import { floatTensor } from '../../runtime/tensors.js';
import type { FloatView } from '../../data/dataset.js';
import { withInitializersAsInputs } from './model-io.js';
import { TRAINING_RUNNER_OPTIONS } from '../../runtime/runner.js';

export interface EvalResult {
  /** Fraction of examples whose arg-max logit is the label, in [0, 1] (NaN for data without labels). */
  accuracy: number;
  /** Mean softmax cross-entropy (nats); for data without labels, the mean squared error against the targets. */
  loss: number;
  count: number;
  /** Data without labels: output SNR against the targets (the original model's outputs), dB. */
  snrDb?: number;
}

/** SNR (dB) of `y` against the reference `t`: 10 log10(sum t^2 / sum (t - y)^2); +Infinity when equal. */
export function snrDb(t: Float32Array, y: Float32Array): number {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < t.length; i++) {
    const d = t[i]! - y[i]!;
    signal += t[i]! * t[i]!;
    noise += d * d;
  }
  return noise === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(signal / noise);
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

  /**
   * Accuracy and loss against the labels; without labels, the output SNR and
   * mean squared error against `targets` (the original's outputs, flattened per
   * example in data order).
   */
  async evaluate(data: FloatView, targets?: Float32Array): Promise<EvalResult> {
    if (!data.labels && targets) {
      const r = await classifierLogits(this.runner, data, this.io, {
        batchSize: this.batchSize,
        extraFeeds: this.weightFeeds,
        keepLogits: true,
        ...(this.file === undefined ? {} : { file: this.file }),
      });
      const y = r.logits!;
      if (y.length !== targets.length)
        throw new ModelpressError(
          'E_SHAPE',
          `validation targets hold ${targets.length} values, the model's outputs ${y.length}`,
          this.file === undefined ? {} : { file: this.file },
        );
      let se = 0;
      for (let i = 0; i < y.length; i++) se += (y[i]! - targets[i]!) ** 2;
      return { accuracy: Number.NaN, loss: se / Math.max(1, y.length), count: r.count, snrDb: snrDb(targets, y) };
    }
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
