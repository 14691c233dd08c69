/** Running a classifier over a whole dataset in onnxruntime and keeping its logits (teacher logits for distillation). */
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import type { OrtModuleLike } from '../runtime/ort-session.js';
import { DEFAULT_SESSION_OPTIONS } from '../train/trainer.js';
import { sampleSize, type ClassificationData } from '../train/trainer/data.js';
import { fitSampleShape, resolveModelIo } from '../train/trainer/model-io.js';

export interface DatasetLogits {
  /** count x classes values, example after example. */
  logits: Float32Array;
  classes: number;
  /** Fraction of examples whose arg-max logit is the label. */
  accuracy: number;
}

/** Logits of `model` on every example of `data`, in order, computed in batches of `batchSize` (default 1000). */
export async function datasetLogits(ort: OrtModuleLike, model: ModelProto, data: ClassificationData, opts: { batchSize?: number; file?: string } = {}): Promise<DatasetLogits> {
  const io = resolveModelIo(model, {}, opts.file);
  const feedShape = fitSampleShape(io, data.sampleShape, opts.file);
  let session;
  try {
    session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, model), { graphOptimizationLevel: 'all', ...DEFAULT_SESSION_OPTIONS });
  } catch (e) {
    throw new ModelpressError('E_GRAPH', `onnxruntime cannot load the model: ${String((e as Error).message ?? e).split('\n')[0]}`, { cause: e, ...(opts.file === undefined ? {} : { file: opts.file }) });
  }
  const size = sampleSize(data);
  const batch = opts.batchSize ?? 1000;
  let logits: Float32Array | undefined;
  let classes = 0;
  let correct = 0;
  try {
    for (let start = 0; start < data.count; start += batch) {
      const n = Math.min(batch, data.count - start);
      const x = new ort.Tensor('float32', data.inputs.subarray(start * size, (start + n) * size), [n, ...feedShape]);
      const out = (await session.run({ [io.inputName]: x }, [io.outputName]))[io.outputName]!;
      if (out.dims.length !== 2 || out.dims[0] !== n) throw new ModelpressError('E_SHAPE', `output '${io.outputName}' has shape [${out.dims.join(', ')}], expected [${n}, classes] logits`, opts.file === undefined ? {} : { file: opts.file });
      classes = out.dims[1]!;
      logits ??= new Float32Array(data.count * classes);
      const values = out.data as Float32Array;
      logits.set(values, start * classes);
      for (let k = 0; k < n; k++) {
        let best = 0;
        for (let c = 1; c < classes; c++) if (values[k * classes + c]! > values[k * classes + best]!) best = c;
        if (best === data.labels[start + k]) correct++;
      }
    }
  } finally {
    await session.release();
  }
  return { logits: logits ?? new Float32Array(0), classes, accuracy: data.count ? correct / data.count : 0 };
}
