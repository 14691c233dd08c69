/**
 * Teacher logits for training by distillation (Hinton et al. 2015): a
 * pruned model from the unpruned one, a student from its teacher. The
 * teacher is run once over the training data (train/trainer's
 * datasetLogits), and each batch's rows are fed to the distillation loss.
 */
import type { BatchFeeds } from './step-session.js';

/** Batch feeds that hand the distillation loss the teacher's logits of the batch's examples. */
export function teacherFeeds(teacher: { logits: Float32Array; classes: number }, inputName = 'teacher_logits'): BatchFeeds {
  const { logits, classes } = teacher;
  return (indices, size) => {
    const data = new Float32Array(size * classes);
    for (let k = 0; k < size; k++) data.set(logits.subarray(indices[k]! * classes, (indices[k]! + 1) * classes), k * classes);
    return { [inputName]: { data, dims: [size, classes] } };
  };
}
