/** Gradient rules of data-movement ops: reshapes, transposes, concat/split, slicing, gathering, padding. */
import { makeTensorProto } from '../../graph/tensor-proto.js';
import type { GradientRule, RuleContext } from '../autodiff/context.js';

/** g reshaped back to the input's shape; other inputs (shapes, axes) get none. */
const reshapeBack: GradientRule = (c) => [c.reshapeLike(c.gradOut(0)!, c.input(0))];

const Transpose: GradientRule = (c) => {
  const perm = c.intsAttr('perm');
  if (!perm) return [c.op('Transpose', [c.gradOut(0)!])]; // reversing twice is the identity
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return [c.op('Transpose', [c.gradOut(0)!], { perm: inv })];
};

const Expand: GradientRule = (c) => [c.unbroadcast(c.gradOut(0)!, c.input(0), c.output(0)), null];

/** Concat: split the gradient back into pieces of each input's size along the axis. */
const Concat: GradientRule = (c) => {
  const axis = c.intAttr('axis', 0);
  const inputs = c.node.input;
  const sizes = inputs.map((x) => {
    const s = c.shapes.get(x)?.shape;
    const r = s?.length;
    const d = s && r !== undefined ? s[axis < 0 ? axis + r : axis] : undefined;
    return typeof d === 'number' ? d : undefined;
  });
  const split = sizes.every((d) => d !== undefined)
    ? c.int64s(sizes as number[])
    : c.op(
        'Concat',
        inputs.map((x) => c.op('Reshape', [c.op('Gather', [c.shapeOf(x), c.b.scalar(axis, 'int64')]), c.int64s([1])])),
        { axis: 0 },
      );
  const parts = c.node2('Split', [c.gradOut(0)!, split], inputs.length, { axis });
  return inputs.map((_, i) => (c.needs(i) ? parts[i]! : null));
};

/** Split: concatenate the output gradients (zeros for outputs that do not reach the loss). */
const Split: GradientRule = (c) => {
  const axis = c.intAttr('axis', 0);
  const parts = c.node.output.map((_, i) => c.gradOutOrZeros(i));
  return [c.op('Concat', parts, { axis }), null];
};

/** Flat element indices of x arranged in x's shape (int64). */
function indexMap(c: RuleContext, x: string): string {
  const size = c.op('Size', [x]);
  const range = c.op('Range', [c.b.scalar(0, 'int64'), size, c.b.scalar(1, 'int64')]);
  return c.op('Reshape', [range, c.shapeOf(x)]);
}

/** Scatter-add g into zeros of x's size at the flat indices `flatIdx` (same shape as g), reshaped to x. */
export function scatterAddFlat(c: RuleContext, x: string, flatIdx: string, g: string, reduction: 'add' | 'none' = 'add'): string {
  const zeros = c.op('ConstantOfShape', [c.op('Reshape', [c.op('Size', [x]), c.int64s([1])])], {
    value: { tensor: zeroOf(c, x) },
  });
  const flatI = c.op('Reshape', [flatIdx, c.int64s([-1])]);
  const flatG = c.op('Reshape', [g, c.int64s([-1])]);
  const scattered = c.op('ScatterElements', [zeros, flatI, flatG], { axis: 0, reduction });
  return c.reshapeLike(scattered, x);
}

function zeroOf(c: RuleContext, x: string) {
  return makeTensorProto('', c.dtype(x), [1], [0]);
}

/** Slice (any starts/ends/axes/steps): slice the index map the same way, scatter g there. */
const Slice: GradientRule = (c) => {
  const x = c.input(0);
  const sel = c.op('Slice', [indexMap(c, x), ...c.node.input.slice(1)]);
  return [scatterAddFlat(c, x, sel, c.gradOut(0)!, 'none'), null, null, null, null];
};

/** Gather: gather the index map, scatter-add g (repeated indices accumulate: centroid gradients). */
const Gather: GradientRule = (c) => {
  const x = c.input(0);
  const sel = c.op('Gather', [indexMap(c, x), c.input(1)], { axis: c.intAttr('axis', 0) });
  return [scatterAddFlat(c, x, sel, c.gradOut(0)!, 'add'), null];
};

const GatherElements: GradientRule = (c) => {
  const x = c.input(0);
  const zeros = c.zerosLike(x);
  return [c.op('ScatterElements', [zeros, c.input(1), c.gradOut(0)!], { axis: c.intAttr('axis', 0), reduction: 'add' }), null];
};

/** Pad (constant mode, non-negative pads): the gradient is the unpadded slice. */
const Pad: GradientRule = (c) => {
  const mode = c.stringAttr('mode', 'constant');
  if (mode !== 'constant') c.unsupported(`mode=${mode}`);
  const x = c.input(0),
    g = c.gradOut(0)!;
  const pads = c.constInts(c.input(1));
  const axesIn = c.input(3);
  const axes = axesIn ? c.constInts(axesIn) : undefined;
  if (axesIn && !axes) c.unsupported('axes must be a constant');
  if (pads) {
    if (pads.some((p) => p < 0)) c.unsupported('negative pads (cropping)');
    const n = pads.length / 2;
    const axisList = axes ?? Array.from({ length: n }, (_, i) => i);
    const begins = pads.slice(0, n);
    const ends = c.add(c.int64s(begins), c.op('Gather', [c.shapeOf(x), c.int64s(axisList)]));
    return [c.op('Slice', [g, c.int64s(begins), ends, c.int64s(axisList)]), null, null, null];
  }
  if (axesIn) c.unsupported('run-time pads with axes');
  const r = c.rank(x);
  const begins = c.op('Slice', [c.input(1), c.int64s([0]), c.int64s([r])]);
  return [c.op('Slice', [g, begins, c.add(begins, c.shapeOf(x))]), null, null, null];
};

export const SHAPE_RULES: Record<string, GradientRule> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose,
  Expand,
  Concat,
  Split,
  Slice,
  Gather,
  GatherElements,
  Pad,
};
