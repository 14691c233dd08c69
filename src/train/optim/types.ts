/** Shared types of the optimizers. */

/** One trainable tensor: the optimizer updates `data` in place. */
export interface Param {
  /** Initializer name in the ONNX graph; gradients are looked up by it. */
  readonly name: string;
  /** The weights, updated in place by `step`. */
  readonly data: Float32Array;
}

/** Hyper-parameters every optimizer has; each group may override them. */
export interface BaseGroupOptions {
  /** Learning rate (before the schedule factor). */
  lr: number;
  /** Weight decay coefficient; L2 added to the gradient for SGD/Adam, decoupled for AdamW. Default 0. */
  weightDecay: number;
}

/** A set of parameters sharing hyper-parameters (PyTorch's param_groups). */
export type ParamGroup<O extends BaseGroupOptions> = { params: readonly Param[] } & Partial<O>;

/** Gradients by parameter name. */
export type GradientSource = ReadonlyMap<string, Float32Array> | Readonly<Record<string, Float32Array>>;

/** What one optimizer step reports. */
export interface StepInfo {
  /** Global L2 norm of the (masked) gradients before clipping. */
  gradNorm: number;
  /** Scale applied by clipping (1 when not clipped). */
  clipScale: number;
  /** Schedule factor used for this step. */
  lrFactor: number;
}

/** What the trainer needs from an optimizer (every Optimizer subclass is one). */
export interface StepOptimizer {
  step(grads: GradientSource): StepInfo;
  setMask(name: string, mask: Uint8Array | undefined): void;
  /** Sets the proximal step of a penalty on parameter `name` (applied after each update; see Optimizer). */
  setProximal(name: string, op: ((w: Float32Array, lr: number) => void) | undefined): void;
}
