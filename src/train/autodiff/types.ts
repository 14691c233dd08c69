/**
 * Public types of the training-graph engine. A training graph is a standard
 * ONNX model (default domain, opset >= 17) that takes the current weights and
 * a batch as inputs and returns the loss, the forward outputs and the gradient
 * of every trainable tensor. The trainer runs it in onnxruntime each step and
 * applies the optimizer in TypeScript.
 */
import type { ModelProto } from 'onnx-buf';
import type { Dim } from '../../graph/value-info.js';

/** The loss appended to the forward graph. */
export type LossSpec =
  | {
      /** Softmax cross-entropy on hard int64 labels [N], mean over the batch. Logits [N, C]. */
      kind: 'cross-entropy';
      /** Name of the labels graph input (default 'labels'). */
      labels?: string;
    }
  | {
      /** Mean squared error over all elements, against a target of the output's shape. */
      kind: 'mse';
      /** Name of the target graph input (default 'target'). */
      target?: string;
    }
  | {
      /**
       * Knowledge distillation (Hinton et al. 2015):
       * loss = alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * CE(student, labels),
       * KL summed over classes and averaged over the batch.
       */
      kind: 'distillation';
      /** Temperature T > 0 (typical 2..8). */
      temperature: number;
      /** Weight of the soft (KL) term in [0, 1]; 1 = teacher only. */
      alpha: number;
      /** Name of the teacher-logits graph input [N, C] (default 'teacher_logits'). */
      teacherLogits?: string;
      /** Name of the labels graph input (default 'labels'); unused when alpha = 1. */
      labels?: string;
    }
  | {
      /** The model already computes a scalar loss: differentiate this tensor. */
      kind: 'output';
      /** Name of the scalar tensor. */
      name: string;
    };

export interface TrainingGraphOptions {
  loss: LossSpec;
  /**
   * Initializers to train (their gradients become outputs). Default: every
   * float32/float64 initializer on a path to the loss except BatchNormalization
   * running mean/variance.
   */
  trainable?: readonly string[];
  /** The forward output the loss reads (default: the graph's first output). */
  output?: string;
  /**
   * 'train' (default): BatchNormalization uses batch statistics and the graph
   * outputs the batch mean and unbiased variance for the running-stats update.
   * 'eval': it uses the stored running statistics (which stay constant).
   */
  batchNorm?: 'train' | 'eval';
  /**
   * 'train' (default): Dropout nodes drop at their ratio; the trainer may feed a
   * ratio through `dropoutRatioInput`. 'eval': Dropout is the identity.
   */
  dropout?: 'train' | 'eval';
  /** When set and dropout = 'train', a float scalar graph input of this name drives every Dropout's ratio. */
  dropoutRatioInput?: string;
}

/** A trainable tensor of the training graph. */
export interface TrainableParam {
  /** Graph input fed with the current values each step (the initializer's name). */
  name: string;
  /** Graph output holding d loss / d param, same shape. */
  grad: string;
  dtype: 'float32' | 'float64';
  shape: number[];
  /** The values the initializer held in the source model. */
  initial: Float32Array;
}

/** A graph input the trainer feeds per batch. */
export interface DataInput {
  name: string;
  /** ONNX elem type (1 float32, 7 int64, 11 float64, ...). */
  elemType: number;
  shape: Dim[] | undefined;
  /** What it is: a model input, the labels, the target, teacher logits, the dropout ratio. */
  role: 'model' | 'labels' | 'target' | 'teacher' | 'dropout-ratio';
}

/** BatchNormalization statistics the training graph emits (batchNorm = 'train'). */
export interface BatchNormStats {
  /** BatchNormalization node name in the source model. */
  node: string;
  /** Initializer names of the running mean / variance in the source model. */
  runningMean: string;
  runningVar: string;
  /** Graph outputs: per-channel batch mean and unbiased batch variance. */
  batchMean: string;
  batchVar: string;
  /** ONNX momentum: running = running * momentum + batch * (1 - momentum). */
  momentum: number;
}

export interface TrainingGraph {
  /** The training graph. */
  model: ModelProto;
  /** Trainable parameters in a stable order. */
  params: TrainableParam[];
  /** Per-batch inputs (model inputs, then loss inputs). */
  dataInputs: DataInput[];
  /** Scalar loss output. */
  lossOutput: string;
  /** The source model's outputs, also outputs of the training graph (e.g. logits for accuracy). */
  forwardOutputs: string[];
  batchNorm: BatchNormStats[];
}

/** Fake quantization inserted before training (quantization-aware training). */
export interface FakeQuantSpec {
  /** Tensor to fake-quantize: an initializer (weights) or an activation. */
  tensor: string;
  /** Integer grid: signed/unsigned, bits (2..16). int8 = { bits: 8, signed: true }. */
  bits: number;
  signed: boolean;
  /** Per-channel axis of `scale` (default: per-tensor). */
  axis?: number;
  /** Scale per tensor (length 1) or per channel (length = dim at axis). Ignored when `scaleInput` is set. */
  scale?: Float32Array | readonly number[];
  /** Zero point(s), integers on the grid (default 0). Ignored when `scaleInput` is set. */
  zeroPoint?: readonly number[];
  /**
   * Feed scale and zero point as graph inputs of these names (float tensors of the
   * same shape as `scale` would have) so the trainer can update them, e.g. EMA ranges.
   */
  scaleInput?: string;
  zeroPointInput?: string;
}

/** Low-level options: differentiate an existing scalar tensor. */
export interface GradientGraphOptions {
  /** Scalar tensor to differentiate. */
  loss: string;
  /** Graph inputs or initializers to differentiate with respect to (initializers become inputs). */
  wrt: readonly string[];
  /** Name of the gradient output for a tensor (default `${name}_grad`, made unique). */
  gradName?: (tensor: string) => string;
}

export interface GradientGraph {
  model: ModelProto;
  /** Tensor name -> gradient output name. */
  gradients: Map<string, string>;
}
