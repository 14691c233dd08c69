/** Gradient rules of ReduceSum, ReduceMean, ReduceMax and ReduceMin (axes as attribute or input, keepdims, noop_with_empty_axes). */
import type { GradientRule, RuleContext } from '../autodiff/context.js';

/** `t` (output-shaped, default the output gradient) broadcast back to the input's shape. */
export function expandBack(c: RuleContext, t?: string): string {
  let g = t ?? c.gradOut(0)!;
  const x = c.input(0);
  const attrAxes = c.intsAttr('axes');
  const axesInput = c.input(1);
  const hasAxes = (attrAxes && attrAxes.length > 0) || (axesInput !== '' && c.constInts(axesInput)?.length !== 0);
  if (!hasAxes && c.intAttr('noop_with_empty_axes', 0)) return g;
  if (!c.intAttr('keepdims', 1) && hasAxes) g = c.unsqueeze(g, attrAxes && attrAxes.length > 0 ? attrAxes : axesInput);
  return c.op('Expand', [g, c.shapeOf(x)]);
}

const ReduceSum: GradientRule = (c) => [expandBack(c), null];

const ReduceMean: GradientRule = (c) => {
  const x = c.input(0),
    y = c.output(0);
  const xs = c.shapes.staticShape(x),
    ys = c.shapes.staticShape(y);
  let count: string;
  if (xs && ys)
    count = c.scalarLike(
      xs.reduce((a, b) => a * b, 1) /
        Math.max(
          1,
          ys.reduce((a, b) => a * b, 1),
        ),
      x,
    );
  else count = c.castLike(c.op('Div', [c.op('Size', [x]), c.op('Size', [y])]), x);
  return [c.div(expandBack(c), count), null];
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
  const attrs: Record<string, number | number[]> = {
    keepdims: c.intAttr('keepdims', 1),
    noop_with_empty_axes: c.intAttr('noop_with_empty_axes', 0),
  };
  const axesAttr = c.intsAttr('axes');
  if (axesAttr) return c.op('ReduceSum', [t, c.int64s(axesAttr)], attrs);
  return c.op('ReduceSum', c.input(1) ? [t, c.input(1)] : [t], attrs);
}

export const REDUCE_RULES: Record<string, GradientRule> = { ReduceSum, ReduceMean, ReduceMax: reduceExtremum, ReduceMin: reduceExtremum };
