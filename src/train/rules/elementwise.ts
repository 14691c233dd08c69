/** Gradient rules of elementwise arithmetic (with broadcasting), unary math, variadic Sum/Mean/Max/Min and Where. */
import type { GradientRule } from '../autodiff/context.js';

const Add: GradientRule = (c) => {
  const g = c.gradOut(0)!;
  return [c.needs(0) ? c.unbroadcast(g, c.input(0), c.output(0)) : null, c.needs(1) ? c.unbroadcast(g, c.input(1), c.output(0)) : null];
};

const Sub: GradientRule = (c) => {
  const g = c.gradOut(0)!;
  return [
    c.needs(0) ? c.unbroadcast(g, c.input(0), c.output(0)) : null,
    c.needs(1) ? c.unbroadcast(c.neg(g), c.input(1), c.output(0)) : null,
  ];
};

const Mul: GradientRule = (c) => {
  const g = c.gradOut(0)!;
  const [a, b] = [c.input(0), c.input(1)];
  return [c.needs(0) ? c.unbroadcast(c.mul(g, b), a, c.output(0)) : null, c.needs(1) ? c.unbroadcast(c.mul(g, a), b, c.output(0)) : null];
};

const Div: GradientRule = (c) => {
  const g = c.gradOut(0)!;
  const [a, b, y] = [c.input(0), c.input(1), c.output(0)];
  const ga = c.needs(0) || c.needs(1) ? c.div(g, b) : '';
  return [c.needs(0) ? c.unbroadcast(ga, a, y) : null, c.needs(1) ? c.unbroadcast(c.neg(c.mul(ga, y)), b, y) : null];
};

const Neg: GradientRule = (c) => [c.neg(c.gradOut(0)!)];

/** Y = A^B: dA = g * B * A^(B-1); dB = g * Y * ln(A). */
const Pow: GradientRule = (c) => {
  const g = c.gradOut(0)!;
  const [a, b, y] = [c.input(0), c.input(1), c.output(0)];
  let da: string | null = null;
  if (c.needs(0)) {
    const bMinus1 = c.op('Sub', [b, c.op('CastLike', [c.scalarLike(1, a), b])]);
    const term = c.op('CastLike', [c.mul(b, c.op('Pow', [a, bMinus1])), a]);
    da = c.unbroadcast(c.mul(g, term), a, y);
  }
  const db = c.needs(1) ? c.unbroadcast(c.mul(c.mul(g, y), c.op('Log', [a])), b, y) : null;
  return [da, db];
};

const Sqrt: GradientRule = (c) => [c.div(c.mul(c.gradOut(0)!, c.scalarLike(0.5, c.output(0))), c.output(0))];

const Exp: GradientRule = (c) => [c.mul(c.gradOut(0)!, c.output(0))];

const Log: GradientRule = (c) => [c.div(c.gradOut(0)!, c.input(0))];

const Reciprocal: GradientRule = (c) => [c.neg(c.mul(c.gradOut(0)!, c.mul(c.output(0), c.output(0))))];

/** d erf(x) = 2/sqrt(pi) * exp(-x^2). */
const Erf: GradientRule = (c) => {
  const x = c.input(0);
  const e = c.op('Exp', [c.neg(c.mul(x, x))]);
  return [c.mul(c.gradOut(0)!, c.mul(e, c.scalarLike(2 / Math.sqrt(Math.PI), x)))];
};

const Abs: GradientRule = (c) => [c.mul(c.gradOut(0)!, c.op('Sign', [c.input(0)]))];

/** Variadic Sum: every input receives the (unbroadcast) output gradient. */
const Sum: GradientRule = (c) => c.node.input.map((inp, i) => (c.needs(i) ? c.unbroadcast(c.gradOut(0)!, inp, c.output(0)) : null));

/** Where(cond, a, b): g flows to a where cond holds, to b elsewhere; none into cond. */
const Where: GradientRule = (c) => {
  const g = c.gradOut(0)!,
    y = c.output(0);
  const zero = c.scalarLike(0, y);
  return [
    null,
    c.needs(1) ? c.unbroadcast(c.op('Where', [c.input(0), g, zero]), c.input(1), y) : null,
    c.needs(2) ? c.unbroadcast(c.op('Where', [c.input(0), zero, g]), c.input(2), y) : null,
  ];
};

/** Max/Min (variadic, broadcasting): g goes to the inputs equal to the result, split evenly among ties. */
const extremum: GradientRule = (c) => {
  const y = c.output(0),
    g = c.gradOut(0)!;
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

export const ELEMENTWISE_RULES: Record<string, GradientRule> = {
  Add,
  Sub,
  Mul,
  Div,
  Neg,
  Pow,
  Sqrt,
  Exp,
  Log,
  Reciprocal,
  Erf,
  Abs,
  Sum,
  Mean,
  Max: extremum,
  Min: extremum,
  Where,
};
