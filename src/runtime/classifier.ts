/**
 * Running a classifier over a whole dataset: logits in batches, arg-max
 * accuracy and mean softmax cross-entropy. The one such loop: evaluation,
 * validation during training, teacher logits for distillation.
 */
import { ModelpressError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import type { FloatView } from '../data/dataset.js';
import type { Runner } from './runner.js';
import { floatTensor, floatValues } from './tensors.js';

export interface ClassifierIo {
  inputName: string;
  outputName: string;
  /** Shape of one example as the model takes it (after the batch dim). */
  feedShape: readonly number[];
}

export interface ClassifierPassOptions {
  /** Examples per run; default 1000. */
  batchSize?: number;
  /** Fed with every batch (weights given as inputs, for instance). */
  extraFeeds?: Readonly<Record<string, Tensor>>;
  /** Keep all logits ([count, classes]); default false. */
  keepLogits?: boolean;
  /** A label >= the number of classes is E_SHAPE (evaluation); default false (it counts as wrong). */
  strictLabels?: boolean;
  file?: string;
}

export interface ClassifierPass {
  /** Fraction of examples whose arg-max logit is the label, in [0, 1] (0 without labels). */
  accuracy: number;
  /** Mean softmax cross-entropy of the labels (nats); 0 without labels. */
  loss: number;
  count: number;
  /** Values per example: the classes of [batch, classes] logits, the product of the dims after the batch otherwise. */
  classes: number;
  /** The output's shape after the batch dim ([classes] for logits). */
  outputShape: number[];
  /** [count, classes] logits, with keepLogits. */
  logits: Float32Array | undefined;
}

/** Index of the largest of `values[offset .. offset + classes)` (the first one on ties). */
export function argmax(values: Float32Array, offset: number, classes: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (values[offset + c]! > values[offset + best]!) best = c;
  return best;
}

/** Runs `runner` over `data` in order; see ClassifierPassOptions. */
export async function classifierLogits(
  runner: Runner,
  data: FloatView,
  io: ClassifierIo,
  opts: ClassifierPassOptions = {},
): Promise<ClassifierPass> {
  const where = opts.file === undefined ? {} : { file: opts.file };
  const batchSize = opts.batchSize ?? 1000;
  const size = data.sampleShape.reduce((a, b) => a * b, 1);
  const labels = data.labels;
  let correct = 0;
  let lossSum = 0;
  let classes = 0;
  let outputShape: number[] = [];
  let logits: Float32Array | undefined;
  for (let start = 0; start < data.count; start += batchSize) {
    const n = Math.min(batchSize, data.count - start);
    const x = floatTensor(data.inputs.subarray(start * size, (start + n) * size), [n, ...io.feedShape]);
    const out = (await runner.run({ ...opts.extraFeeds, [io.inputName]: x }, [io.outputName]))[io.outputName]!;
    // With labels the output must be [batch, classes] logits; without, any [batch, ...] output is kept flattened per example.
    if ((labels ? out.shape.length !== 2 : out.shape.length < 1) || out.shape[0] !== n) {
      throw new ModelpressError(
        'E_SHAPE',
        `output '${io.outputName}' has shape [${out.shape.join(', ')}], expected [${n}, classes] logits`,
        where,
      );
    }
    outputShape = out.shape.slice(1);
    classes = outputShape.reduce((a, b) => a * b, 1);
    const values = floatValues(out, `output '${io.outputName}'`);
    if (opts.keepLogits) {
      logits ??= new Float32Array(data.count * classes);
      logits.set(values, start * classes);
    }
    if (!labels) continue;
    for (let k = 0; k < n; k++) {
      const label = labels[start + k]!;
      if (label >= classes) {
        if (opts.strictLabels)
          throw new ModelpressError(
            'E_SHAPE',
            `label ${label} of example ${start + k} is out of range for ${classes} output classes`,
            where,
          );
        continue;
      }
      const row = k * classes;
      const best = argmax(values, row, classes);
      if (best === label) correct++;
      const max = values[row + best]!;
      let sumExp = 0;
      for (let c = 0; c < classes; c++) sumExp += Math.exp(values[row + c]! - max);
      lossSum += Math.log(sumExp) + max - values[row + label]!;
    }
  }
  const count = data.count;
  const labelled = labels !== undefined && count > 0;
  return {
    accuracy: labelled ? correct / count : 0,
    loss: labelled ? lossSum / count : 0,
    count,
    classes,
    outputShape,
    logits: opts.keepLogits ? (logits ?? new Float32Array(0)) : undefined,
  };
}
