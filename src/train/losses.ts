/**
 * Loss graphs appended to a forward graph: softmax cross-entropy on hard
 * labels, mean squared error, and knowledge distillation (Hinton et al.
 * 2015). They are built from ordinary ONNX ops and differentiated by the
 * same rules as the model.
 */
import { ModelpressError } from '../core/errors.js';
import type { GraphBuilder } from '../graph/builder.js';
import type { ShapeInfo } from '../graph/shape-inference.js';
import { graphDTypeFromOnnx, ONNX_DTYPE } from '../graph/tensor-proto.js';
import type { Dim } from '../graph/value-info.js';
import type { DataInput, LossSpec } from './autodiff/types.js';

export interface AppendedLoss {
  /** Scalar loss tensor. */
  loss: string;
  /** Graph inputs the loss added (labels, target, teacher logits). */
  inputs: DataInput[];
}

/**
 * Appends the loss `spec` on the forward tensor `output` to the graph of `b`.
 * `shapes` must describe the forward graph. Throws E_SHAPE when the output's
 * known rank does not fit the loss, E_ARG for a bad spec or an input name that
 * is already taken.
 */
export function appendLoss(b: GraphBuilder, shapes: ShapeInfo, spec: LossSpec, output: string): AppendedLoss {
  const info = shapes.get(output);
  const et = info?.elemType || 1;
  const dt = graphDTypeFromOnnx(et);
  if (spec.kind !== 'output' && dt !== 'float32' && dt !== 'float64') {
    throw new ModelpressError('E_SHAPE', `loss ${spec.kind}: output '${output}' must be float32 or float64, found elem type ${et}`);
  }
  const dtype = dt === 'float64' ? 'float64' : 'float32';
  const inputs: DataInput[] = [];
  const addInput = (name: string, elemType: number, shape: Dim[] | undefined, role: DataInput['role']): string => {
    if (b.names.has(name)) throw new ModelpressError('E_ARG', `loss input name '${name}' is already used in the graph`);
    b.input(name, elemType, shape);
    inputs.push({ name, elemType, shape, role });
    return name;
  };
  const meanAll = (x: string): string => b.op('ReduceMean', [x], { keepdims: 0 }, 'loss_mean');
  const logits2d = (): { batch: Dim; classes: Dim } => {
    const s = info?.shape;
    if (s && s.length !== 2)
      throw new ModelpressError(
        'E_SHAPE',
        `loss ${spec.kind}: logits '${output}' must be [batch, classes], found rank ${s.length} [${s.join(', ')}]`,
      );
    return { batch: s?.[0] ?? 'batch', classes: s?.[1] ?? null };
  };
  const crossEntropy = (logits: string, labelsName: string, batch: Dim): string => {
    const labels = addInput(labelsName, ONNX_DTYPE.int64, [batch], 'labels');
    const logProbs = b.op('LogSoftmax', [logits], { axis: 1 }, 'ce_log_softmax');
    const picked = b.op(
      'GatherElements',
      [logProbs, b.op('Unsqueeze', [labels, b.int64s([1])], undefined, 'ce_labels_2d')],
      { axis: 1 },
      'ce_pick',
    );
    return b.op('Neg', [meanAll(picked)], undefined, 'ce_loss');
  };

  switch (spec.kind) {
    case 'output':
      if (!shapes.get(spec.name) && !b.names.has(spec.name))
        throw new ModelpressError('E_NOT_FOUND', `loss tensor '${spec.name}' is not in the graph`);
      return { loss: spec.name, inputs };
    case 'cross-entropy': {
      const { batch } = logits2d();
      return { loss: crossEntropy(output, spec.labels ?? 'labels', batch), inputs };
    }
    case 'mse': {
      const target = addInput(spec.target ?? 'target', et, info?.shape ? [...info.shape] : undefined, 'target');
      const d = b.op('Sub', [output, target], undefined, 'mse_diff');
      return { loss: b.op('Identity', [meanAll(b.op('Mul', [d, d], undefined, 'mse_sq'))], undefined, 'mse_loss'), inputs };
    }
    case 'distillation': {
      const { temperature: T, alpha } = spec;
      if (!(T > 0) || !Number.isFinite(T)) throw new ModelpressError('E_ARG', `distillation temperature must be > 0, got ${T}`);
      if (!(alpha >= 0 && alpha <= 1)) throw new ModelpressError('E_ARG', `distillation alpha must be in [0, 1], got ${alpha}`);
      const { batch, classes } = logits2d();
      const teacher = addInput(spec.teacherLogits ?? 'teacher_logits', et, [batch, classes], 'teacher');
      const invT = b.scalar(1 / T, dtype);
      const studentLog = b.op('LogSoftmax', [b.op('Mul', [output, invT])], { axis: 1 }, 'kd_student_log');
      const teacherScaled = b.op('Mul', [teacher, invT]);
      const teacherProb = b.op('Softmax', [teacherScaled], { axis: 1 }, 'kd_teacher_prob');
      const teacherLog = b.op('LogSoftmax', [teacherScaled], { axis: 1 }, 'kd_teacher_log');
      const perSample = b.op(
        'ReduceSum',
        [b.op('Mul', [teacherProb, b.op('Sub', [teacherLog, studentLog])]), b.int64s([1])],
        { keepdims: 0 },
        'kd_kl',
      );
      const soft = b.op('Mul', [meanAll(perSample), b.scalar(alpha * T * T, dtype)], undefined, 'kd_soft');
      if (alpha === 1) return { loss: b.op('Identity', [soft], undefined, 'kd_loss'), inputs };
      const hard = b.op('Mul', [crossEntropy(output, spec.labels ?? 'labels', batch), b.scalar(1 - alpha, dtype)], undefined, 'kd_hard');
      return { loss: b.op('Add', [soft, hard], undefined, 'kd_loss'), inputs };
    }
    default:
      throw new ModelpressError('E_ARG', `unknown loss kind ${(spec as { kind: string }).kind}`);
  }
}
