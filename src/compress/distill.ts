/**
 * Knowledge distillation (Hinton et al. 2015): the student trains on
 *   alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * CE(student, labels)
 * (the training engine's 'distillation' loss). The teacher's logits are
 * computed once by onnxruntime over the training set (no augmentation, so
 * they do not change between epochs) and fed per batch by example index.
 */
import type { LossSpec } from '../train/autodiff/types.js';
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { readValueInfo } from '../graph/value-info.js';
import { teacherFeeds } from '../train/teacher.js';
import type { RunnerFactory } from '../runtime/runner.js';
import type { OptimizerSpec } from '../train/optim/index.js';
import { datasetLogits, evaluateModel, train, type EpochRecord, type EvalResult, type TrainProgress } from '../train/trainer.js';
import type { Dataset } from '../data/dataset.js';
import { resolveModelIo } from '../train/trainer/model-io.js';

export interface DistillOptions {
  openRunner: RunnerFactory;
  teacher: ModelProto;
  /** The student to train (its initial weights). */
  student: ModelProto;
  train: Dataset;
  /** Held-out data evaluated each epoch (best epoch kept when given). */
  validation?: Dataset;
  /** Test data for the final report. */
  test?: Dataset;
  /** Softmax temperature T > 0; default 2 (small students did better at 1-2 than at 4-8 here, bench/compress). */
  temperature?: number;
  /** Weight of the soft (teacher) term in [0, 1]; default 0.5. */
  alpha?: number;
  epochs: number;
  /** Default 64. */
  batchSize?: number;
  /** Shuffling seed; default 0. */
  seed?: number;
  /** Default Adam lr 1e-3. */
  optimizer?: OptimizerSpec;
  onProgress?: (e: TrainProgress) => void;
  /**
   * Data without labels: train the student on the teacher's outputs alone —
   * MSE against them (any output shape; the default), or with `temperature`
   * the KL divergence of the temperature-T softmaxes (logits [N, classes]).
   * `temperature` / `alpha` above are then unused.
   */
  labelFree?: { temperature?: number };
  /** File names for error messages. */
  teacherFile?: string;
  studentFile?: string;
}

export interface DistillResult {
  model: ModelProto;
  history: EpochRecord[];
  bestEpoch: number;
  /** Teacher accuracy on the training data (from the cached logits). */
  teacherTrainAccuracy: number;
  teacherTest?: EvalResult;
  studentTest?: EvalResult;
}

/** Checks T and alpha; E_ARG naming the option. */
export function checkDistillParams(temperature: number, alpha: number): void {
  if (!(temperature > 0) || !Number.isFinite(temperature))
    throw new ModelpressError('E_ARG', `temperature must be a finite number > 0, got ${temperature}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new ModelpressError('E_ARG', `alpha must be in [0, 1], got ${alpha}`);
}

/** Distills `teacher` into `student`. */
export async function distill(opts: DistillOptions): Promise<DistillResult> {
  const temperature = opts.temperature ?? 2;
  const alpha = opts.alpha ?? 0.5;
  checkDistillParams(temperature, alpha);
  const teacherClasses = outputClasses(opts.teacher, opts.teacherFile);
  const studentClasses = outputClasses(opts.student, opts.studentFile);
  if (teacherClasses !== undefined && studentClasses !== undefined && teacherClasses !== studentClasses) {
    throw new ModelpressError(
      'E_SHAPE',
      `teacher has ${teacherClasses} output classes, student ${studentClasses}; distillation needs the same classes`,
      opts.studentFile === undefined ? {} : { file: opts.studentFile },
    );
  }
  const cached = await datasetLogits(
    opts.openRunner,
    opts.teacher,
    opts.train,
    opts.teacherFile === undefined ? {} : { file: opts.teacherFile },
  );
  const classes = cached.classes;
  const mse = opts.labelFree !== undefined && opts.labelFree.temperature === undefined;
  if (!mse && studentClasses !== undefined && classes !== studentClasses)
    throw new ModelpressError('E_SHAPE', `teacher produced ${classes} logits per example, the student has ${studentClasses} classes`);
  if (opts.labelFree?.temperature !== undefined && cached.outputShape.length !== 1)
    throw new ModelpressError(
      'E_ARG',
      `KL distillation needs logits [N, classes]; the teacher's output is [N, ${cached.outputShape.join(', ')}] (use MSE)`,
    );
  const batchFeeds = teacherFeeds(cached, 'teacher_logits');
  const loss: LossSpec = mse
    ? { kind: 'mse', target: 'teacher_logits' }
    : opts.labelFree
      ? { kind: 'distillation', temperature: opts.labelFree.temperature!, alpha: 1, teacherLogits: 'teacher_logits' }
      : { kind: 'distillation', temperature, alpha, teacherLogits: 'teacher_logits' };
  const r = await train({
    openRunner: opts.openRunner,
    model: opts.student,
    train: opts.train,
    ...(opts.validation ? { validation: opts.validation } : {}),
    epochs: opts.epochs,
    batchSize: opts.batchSize ?? 64,
    seed: opts.seed ?? 0,
    optimizer: opts.optimizer ?? { name: 'adam', lr: 1e-3 },
    loss,
    batchFeeds,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.studentFile === undefined ? {} : { file: opts.studentFile }),
  });
  const result: DistillResult = { model: r.model, history: r.history, bestEpoch: r.bestEpoch, teacherTrainAccuracy: cached.accuracy };
  if (opts.test && opts.test.y !== undefined) {
    result.teacherTest = await evaluateModel(opts.openRunner, opts.teacher, opts.test);
    result.studentTest = await evaluateModel(opts.openRunner, r.model, opts.test);
  }
  return result;
}

function outputClasses(model: ModelProto, file: string | undefined): number | undefined {
  const io = resolveModelIo(model, {}, file);
  const out = model.graph?.output.find((o) => o.name === io.outputName);
  const shape = out ? readValueInfo(out)?.shape : undefined;
  const c = shape?.[shape.length - 1];
  return typeof c === 'number' ? c : undefined;
}
