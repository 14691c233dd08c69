/**
 * Teacher feeds for distillation (Hinton et al. 2015), used by pruning
 * fine-tunes and `distill`: the teacher is run once over the training data
 * (train/trainer's datasetLogits), and each batch's rows are fed to the
 * distillation loss (or, for unlabelled data, the MSE loss's target,
 * shaped like the output).
 */
import type { BatchFeeds } from './trainer/step-session.js';

/** Batch feeds that hand the distillation loss the teacher's logits of the batch's examples. */
export function teacherFeeds(
  teacher: { logits: Float32Array; classes: number; outputShape?: readonly number[] },
  inputName = 'teacher_logits',
): BatchFeeds {
  const { logits, classes } = teacher;
  const shape = teacher.outputShape ?? [classes];
  return (indices, size) => {
    const data = new Float32Array(size * classes);
    for (let k = 0; k < size; k++) data.set(logits.subarray(indices[k]! * classes, (indices[k]! + 1) * classes), k * classes);
    return { [inputName]: { data, dims: [size, ...shape] } };
  };
}
