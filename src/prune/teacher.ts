/**
 * Teacher logits for fine-tuning a pruned model by distillation from the
 * unpruned one (Hinton et al. 2015): the original model is run once over the
 * training data in onnxruntime, and each batch's rows are fed to the
 * distillation loss. Browser-safe: the onnxruntime module is passed in.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { writeOnnx } from '../formats/onnx/write.js';
import type { OrtModuleLike } from '../runtime/ort-session.js';
import type { BatchFeeds } from '../train/trainer/step-session.js';
import type { ClassificationData } from '../train/trainer/data.js';

/** Logits of `model` for every example of `data`, row after row ([count, classes]). */
export async function computeTeacherLogits(ort: OrtModuleLike, model: ModelProto, data: ClassificationData, batchSize = 256): Promise<{ logits: Float32Array; classes: number }> {
  const session = await ort.InferenceSession.create(writeOnnx(model));
  try {
    const input = session.inputNames.find((n) => !model.graph!.initializer.some((t) => t.name === n))!;
    const size = data.sampleShape.reduce((a, b) => a * b, 1);
    let out: Float32Array | undefined;
    let classes = 0;
    for (let start = 0; start < data.count; start += batchSize) {
      const n = Math.min(batchSize, data.count - start);
      const x = new ort.Tensor('float32', data.inputs.subarray(start * size, (start + n) * size), [n, ...data.sampleShape]);
      const y = (await session.run({ [input]: x }))[session.outputNames[0]!]!;
      if (!out) {
        classes = y.dims[y.dims.length - 1]!;
        out = new Float32Array(data.count * classes);
      }
      if (y.dims.length !== 2 || y.dims[0] !== n) throw new ModelpressError('E_SHAPE', `teacher output has shape [${y.dims.join(', ')}], expected [${n}, classes]`);
      out.set(y.data as Float32Array, start * classes);
    }
    return { logits: out ?? new Float32Array(0), classes };
  } finally {
    await session.release();
  }
}

/** Batch feeds that hand the distillation loss the teacher's logits of the batch's examples. */
export function teacherFeeds(teacher: { logits: Float32Array; classes: number }, inputName = 'teacher_logits'): BatchFeeds {
  const { logits, classes } = teacher;
  return (indices, size) => {
    const data = new Float32Array(size * classes);
    for (let k = 0; k < size; k++) data.set(logits.subarray(indices[k]! * classes, (indices[k]! + 1) * classes), k * classes);
    return { [inputName]: { data, dims: [size, classes] } };
  };
}
