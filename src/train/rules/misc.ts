/** Gradient rules of Identity, Cast, Dropout and the straight-through Round used by fake quantization. */
import { ONNX_TYPE } from '../../core/dtypes.js';
import type { GradientRule } from '../autodiff/context.js';

/** Element types a gradient can flow through (real floats). */
const FLOAT_TYPES: ReadonlySet<number> = new Set([ONNX_TYPE.float32, ONNX_TYPE.float16, ONNX_TYPE.float64, ONNX_TYPE.bfloat16]);

/** Marker in a node's doc_string: its gradient is the straight-through estimator (identity). */
export const STE_MARKER = 'modelpress:straight-through';

const Identity: GradientRule = (c) => [c.gradOut(0)!];

/** Cast between float types: cast the gradient back; none into integer inputs. */
const Cast: GradientRule = (c) => {
  const et = c.shapes.elemType(c.input(0));
  if (et !== 0 && !FLOAT_TYPES.has(et)) return [null];
  return [c.op('Cast', [c.gradOut(0)!], { to: et || ONNX_TYPE.float32 })];
};

/**
 * Dropout: in training mode (training_mode input present, mask output taken)
 * dx = g * mask / (1 - ratio), with the mask of the same forward run.
 */
const Dropout: GradientRule = (c) => {
  const g = c.gradOut(0)!;
  const x = c.input(0);
  if (!c.input(2) || !c.output(1)) return [g, null, null];
  const ratio = c.input(1) ? c.op('CastLike', [c.input(1), x]) : c.scalarLike(0.5, x);
  const keep = c.sub(c.scalarLike(1, x), ratio);
  return [c.div(c.mul(g, c.castLike(c.output(1), x)), keep), null, null];
};

/** Round has zero gradient almost everywhere; marked nodes (fake quantization) pass it straight through. */
const Round: GradientRule = (c) => [c.node.docString === STE_MARKER ? c.gradOut(0)! : null];

export const MISC_RULES: Record<string, GradientRule> = { Identity, Cast, Dropout, Round };
