/** Gradient rules of activations (Relu family, sigmoids, Gelu, Softplus, Elu) and (log-)softmax. */
import type { GradientRule, RuleContext } from '../autodiff/context.js';

/** g where `cond` holds, 0 elsewhere. */
function gate(c: RuleContext, cond: string, g: string): string {
  return c.op('Where', [cond, g, c.scalarLike(0, c.output(0))]);
}

const Relu: GradientRule = (c) => [gate(c, c.op('Greater', [c.output(0), c.scalarLike(0, c.output(0))]), c.gradOut(0)!)];

const LeakyRelu: GradientRule = (c) => {
  const g = c.gradOut(0)!,
    x = c.input(0);
  const alpha = c.floatAttr('alpha', 0.01);
  return [c.op('Where', [c.op('Greater', [x, c.scalarLike(0, x)]), g, c.mul(g, c.scalarLike(alpha, x))])];
};

const Sigmoid: GradientRule = (c) => {
  const y = c.output(0);
  return [c.mul(c.gradOut(0)!, c.mul(y, c.sub(c.scalarLike(1, y), y)))];
};

const Tanh: GradientRule = (c) => {
  const y = c.output(0);
  return [c.mul(c.gradOut(0)!, c.sub(c.scalarLike(1, y), c.mul(y, y)))];
};

/** Clip(x, min, max): gradient passes where min <= x <= max; none for min/max. */
const Clip: GradientRule = (c) => {
  const x = c.input(0);
  let cond: string | undefined;
  if (c.input(1)) cond = c.op('GreaterOrEqual', [x, c.input(1)]);
  if (c.input(2)) {
    const le = c.op('LessOrEqual', [x, c.input(2)]);
    cond = cond ? c.op('And', [cond, le]) : le;
  }
  return [cond ? gate(c, cond, c.gradOut(0)!) : c.gradOut(0)!, null, null];
};

/** y = max(0, min(1, alpha*x + beta)). */
const HardSigmoid: GradientRule = (c) => {
  const x = c.input(0);
  const alpha = c.floatAttr('alpha', 0.2),
    beta = c.floatAttr('beta', 0.5);
  const z = c.add(c.mul(x, c.scalarLike(alpha, x)), c.scalarLike(beta, x));
  const inside = c.op('And', [c.op('Greater', [z, c.scalarLike(0, x)]), c.op('Less', [z, c.scalarLike(1, x)])]);
  return [gate(c, inside, c.mul(c.gradOut(0)!, c.scalarLike(alpha, x)))];
};

/** y = x * max(0, min(1, x/6 + 1/2)): dy/dx = 0 (x < -3), 1 (x > 3), (2x + 3)/6 between. */
const HardSwish: GradientRule = (c) => {
  const x = c.input(0),
    g = c.gradOut(0)!;
  const mid = c.add(c.mul(x, c.scalarLike(1 / 3, x)), c.scalarLike(0.5, x));
  const slope = c.op('Where', [c.op('Greater', [x, c.scalarLike(3, x)]), c.scalarLike(1, x), mid]);
  return [gate(c, c.op('Greater', [x, c.scalarLike(-3, x)]), c.mul(g, slope))];
};

/** dx = y * (g - sum(g * y, axis)). */
const Softmax: GradientRule = (c) => {
  const y = c.output(0),
    g = c.gradOut(0)!;
  const axis = c.intAttr('axis', -1);
  const s = c.reduceSum(c.mul(g, y), [axis], true);
  return [c.mul(y, c.sub(g, s))];
};

/** dx = g - exp(y) * sum(g, axis). */
const LogSoftmax: GradientRule = (c) => {
  const y = c.output(0),
    g = c.gradOut(0)!;
  const axis = c.intAttr('axis', -1);
  return [c.sub(g, c.mul(c.op('Exp', [y]), c.reduceSum(g, [axis], true)))];
};

/** Gelu (opset 20), exact (erf) or tanh approximation. */
const Gelu: GradientRule = (c) => {
  const x = c.input(0),
    g = c.gradOut(0)!;
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
  const x = c.input(0),
    y = c.output(0),
    g = c.gradOut(0)!;
  const alpha = c.floatAttr('alpha', 1);
  return [c.op('Where', [c.op('Greater', [x, c.scalarLike(0, x)]), g, c.mul(g, c.add(y, c.scalarLike(alpha, x)))])];
};

export const ACTIVATION_RULES: Record<string, GradientRule> = {
  Relu,
  LeakyRelu,
  Sigmoid,
  Tanh,
  Clip,
  HardSigmoid,
  HardSwish,
  Softmax,
  LogSoftmax,
  Gelu,
  Softplus,
  Elu,
};
