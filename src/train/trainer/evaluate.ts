/**
 * Accuracy and mean cross-entropy of a forward model on held-out data, with
 * the current weights fed as inputs (one session for the whole run).
 */
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import type { OrtModuleLike, OrtSessionLike, OrtTensorLike } from '../../runtime/ort-session.js';
import { sampleSize, type ClassificationData } from './data.js';
import { withInitializersAsInputs } from './model-io.js';

export interface EvalResult {
  /** Fraction of examples whose arg-max logit is the label, in [0, 1]. */
  accuracy: number;
  /** Mean softmax cross-entropy (nats). */
  loss: number;
  count: number;
}

export class Evaluator {
  private constructor(
    private readonly ort: OrtModuleLike,
    private readonly session: OrtSessionLike,
    private readonly io: { inputName: string; outputName: string; feedShape: readonly number[] },
    private readonly weightFeeds: Record<string, OrtTensorLike>,
    private readonly batchSize: number,
  ) {}

  /**
   * Opens a session on `model` with `weights` (name -> live array, read at
   * every evaluation) turned into inputs.
   */
  static async create(
    ort: OrtModuleLike,
    model: ModelProto,
    weights: ReadonlyMap<string, { data: Float32Array; dims: readonly number[] }>,
    io: { inputName: string; outputName: string; feedShape: readonly number[] },
    opts: { batchSize?: number; sessionOptions?: Record<string, unknown> } = {},
  ): Promise<Evaluator> {
    const evalModel = withInitializersAsInputs(model, [...weights.keys()]);
    let session: OrtSessionLike;
    try {
      session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, evalModel), { graphOptimizationLevel: 'all', ...opts.sessionOptions });
    } catch (e) {
      throw new ModelpressError('E_GRAPH', `onnxruntime cannot load the model for evaluation: ${firstLine(e)}`, { cause: e });
    }
    const feeds: Record<string, OrtTensorLike> = {};
    for (const [name, w] of weights) feeds[name] = new ort.Tensor('float32', w.data, w.dims);
    return new Evaluator(ort, session, io, feeds, opts.batchSize ?? 1000);
  }

  async evaluate(data: ClassificationData): Promise<EvalResult> {
    const size = sampleSize(data);
    let correct = 0;
    let lossSum = 0;
    for (let start = 0; start < data.count; start += this.batchSize) {
      const n = Math.min(this.batchSize, data.count - start);
      const x = data.inputs.subarray(start * size, (start + n) * size);
      const feeds = { ...this.weightFeeds, [this.io.inputName]: new this.ort.Tensor('float32', x, [n, ...this.io.feedShape]) };
      let out: Record<string, OrtTensorLike>;
      try {
        out = await this.session.run(feeds, [this.io.outputName]);
      } catch (e) {
        throw new ModelpressError('E_SHAPE', `onnxruntime failed to evaluate a batch of ${n} examples shaped [${n}, ${this.io.feedShape.join(', ')}]: ${firstLine(e)}`, { cause: e });
      }
      const logits = out[this.io.outputName]!;
      const classes = logits.dims[logits.dims.length - 1]!;
      if (logits.dims.length !== 2 || logits.dims[0] !== n) {
        throw new ModelpressError('E_SHAPE', `output '${this.io.outputName}' has shape [${logits.dims.join(', ')}], expected [${n}, classes] logits`);
      }
      const values = logits.data as Float32Array;
      for (let k = 0; k < n; k++) {
        const label = data.labels[start + k]!;
        if (label >= classes) throw new ModelpressError('E_SHAPE', `label ${label} of example ${start + k} is out of range for ${classes} output classes`);
        const row = k * classes;
        let best = 0;
        let max = values[row]!;
        for (let c = 1; c < classes; c++) if (values[row + c]! > max) { max = values[row + c]!; best = c; }
        if (best === label) correct++;
        let sumExp = 0;
        for (let c = 0; c < classes; c++) sumExp += Math.exp(values[row + c]! - max);
        lossSum += Math.log(sumExp) + max - values[row + label]!;
      }
    }
    return { accuracy: data.count ? correct / data.count : 0, loss: data.count ? lossSum / data.count : 0, count: data.count };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0]!;
}
