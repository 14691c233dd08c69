/** Gradient rules of ops common in exported transformers and mobile nets: Where, Max/Min, Pad, Gelu, Softplus, Elu, ReduceMax/ReduceMin, Mean. */
import type { GradientRule, RuleContext } from '../autodiff/context.js';
import { expandBack } from './reduce.js';

/** Where(cond, a, b): g flows to a where cond holds, to b elsewhere; none into cond. */
const Where: GradientRule = (c) => {
  const g = c.gradOut(0)!, y = c.output(0);
  const zero = c.scalarLike(0, y);
  return [
    null,
    c.needs(1) ? c.unbroadcast(c.op('Where', [c.input(0), g, zero]), c.input(1), y) : null,
    c.needs(2) ? c.unbroadcast(c.op('Where', [c.input(0), zero, g]), c.input(2), y) : null,
  ];
};

/** Max/Min (variadic, broadcasting): g goes to the inputs equal to the result, split evenly among ties. */
const extremum: GradientRule = (c) => {
  const y = c.output(0), g = c.gradOut(0)!;
  const hits = c.node.input.map((x) => c.castLike(c.op('Equal', [x, y]), y));
  const count = hits.length === 1 ? hits[0]! : c.op('Sum', hits);
  const share = c.div(g, count);
  return c.node.input.map((x, i) => (c.needs(i) ? c.unbroadcast(c.mul(share, hits[i]!), x, y) : null));
};

/** Mean (variadic): like Sum, divided by the input count. */
const Mean: GradientRule = (c) => {
  const share = c.mul(c.gradOut(0)!, c.scalarLike(1 / c.node.input.length, c.output(0)));
  return c.node.input.map((x, i) => (c.needs(i) ? c.unbroadcast(share, x, c.output(0)) : null));
};

/** Pad (constant mode, non-negative pads): the gradient is the unpadded slice. */
const Pad: GradientRule = (c) => {
  const mode = c.stringAttr('mode', 'constant');
  if (mode !== 'constant') c.unsupported(`mode=${mode}`);
  const x = c.input(0), g = c.gradOut(0)!;
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

/** Gelu (opset 20), exact (erf) or tanh approximation. */
const Gelu: GradientRule = (c) => {
  const x = c.input(0), g = c.gradOut(0)!;
  const k = (v: number): string => c.scalarLike(v, x);
  if (c.stringAttr('approximate', 'none') === 'tanh') {
    const s = Math.sqrt(2 / Math.PI);
    const x2 = c.mul(x, x);
    const t = c.op('Tanh', [c.mul(c.mul(x, k(s)), c.add(k(1), c.mul(x2, k(0.044715))))]);
    const dInner = c.mul(k(s), c.add(k(1), c.mul(x2, k(3 * 0.044715))));
    const d = c.add(c.mul(k(0.5), c.add(k(1), t)), c.mul(c.mul(c.mul(k(0.5), x), c.sub(k(1), c.mul(t, t))), dInner));
    return [c.mul(g, d)];
  }
  const cdf = c.mul(k(0.5), c.add(k(1), c.op('Erf', [c.mul(x, k(Math.SQRT1_2))])));
  const pdf = c.mul(c.op('Exp', [c.mul(c.mul(x, x), k(-0.5))]), k(1 / Math.sqrt(2 * Math.PI)));
  return [c.mul(g, c.add(cdf, c.mul(x, pdf)))];
};

const Softplus: GradientRule = (c) => [c.mul(c.gradOut(0)!, c.op('Sigmoid', [c.input(0)]))];

const Elu: GradientRule = (c) => {
  const x = c.input(0), y = c.output(0), g = c.gradOut(0)!;
  const alpha = c.floatAttr('alpha', 1);
  return [c.op('Where', [c.op('Greater', [x, c.scalarLike(0, x)]), g, c.mul(g, c.add(y, c.scalarLike(alpha, x)))])];
};

/** ReduceMax/ReduceMin: g goes to the elements equal to the result, split evenly among ties. */
function reduceExtremum(c: RuleContext): (string | null)[] {
  const x = c.input(0);
  const hits = c.castLike(c.op('Equal', [x, expandBack(c, c.output(0))]), x);
  const count = expandBack(c, reduceLike(c, hits));
  return [c.div(c.mul(hits, expandBack(c, c.gradOut(0)!)), count), null];
}

/** ReduceSum of `t` with the node's own axes/keepdims (either opset form). */
function reduceLike(c: RuleContext, t: string): string {
  const attrs: Record<string, number | number[]> = { keepdims: c.intAttr('keepdims', 1), noop_with_empty_axes: c.intAttr('noop_with_empty_axes', 0) };
  const axesAttr = c.intsAttr('axes');
  if (axesAttr) return c.op('ReduceSum', [t, c.int64s(axesAttr)], attrs);
  return c.op('ReduceSum', c.input(1) ? [t, c.input(1)] : [t], attrs);
}

export const MORE_RULES: Record<string, GradientRule> = {
  Where,
  Max: extremum,
  Min: extremum,
  Mean,
  Pad,
  Gelu,
  Softplus,
  Elu,
  ReduceMax: reduceExtremum,
  ReduceMin: reduceExtremum,
};
