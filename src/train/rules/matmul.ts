/** Gradient rules of Gemm and MatMul. */
import type { GradientRule, RuleContext } from '../autodiff/context.js';

/**
 * Y = alpha * A' B' + beta * C with A' = transA ? A^T : A, B' = transB ? B^T : B.
 * dA' = alpha g B'^T, dB' = alpha A'^T g; each written as one Gemm.
 */
const Gemm: GradientRule = (c) => {
  const g = c.gradOut(0)!;
  const [a, b] = [c.input(0), c.input(1)];
  const alpha = c.floatAttr('alpha', 1),
    beta = c.floatAttr('beta', 1);
  const tA = c.intAttr('transA', 0),
    tB = c.intAttr('transB', 0);
  const gemm = (x: string, y: string, transA: number, transB: number): string =>
    c.op('Gemm', [x, y], { alpha: { float: alpha }, transA, transB });
  let da: string | null = null,
    db: string | null = null,
    dc: string | null = null;
  if (c.needs(0)) da = tA ? gemm(b, g, tB, 1) : gemm(g, b, 0, tB ? 0 : 1);
  if (c.needs(1)) db = tB ? gemm(g, a, 1, tA) : gemm(a, g, tA ? 0 : 1, 0);
  if (c.needs(2) && c.input(2)) {
    const scaled = beta === 1 ? g : c.mul(g, c.scalarLike(beta, g));
    dc = c.unbroadcast(scaled, c.input(2), c.output(0));
  }
  return [da, db, dc];
};

/** Swap the last two axes of a tensor of static rank r >= 2. */
function swapLast(c: RuleContext, x: string, r: number): string {
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  return c.op('Transpose', [x], { perm });
}

/**
 * numpy matmul with batching/broadcasting and 1-D operands: promote 1-D
 * operands to matrices (as the spec does), dA = g B^T, dB = A^T g, then sum
 * broadcast batch dims away and drop the promoted axes.
 */
const MatMul: GradientRule = (c) => {
  let g = c.gradOut(0)!;
  const [a, b] = [c.input(0), c.input(1)];
  const ra = c.rank(a),
    rb = c.rank(b);
  let a2 = a,
    b2 = b;
  if (ra === 1) a2 = c.unsqueeze(a, [0]);
  if (rb === 1) b2 = c.unsqueeze(b, [1]);
  if (ra === 1 && rb === 1) g = c.unsqueeze(g, [0, 1]);
  else if (ra === 1) g = c.unsqueeze(g, [-2]);
  else if (rb === 1) g = c.unsqueeze(g, [-1]);
  const ra2 = Math.max(ra, 2),
    rb2 = Math.max(rb, 2);
  const rg = Math.max(ra2, rb2);
  const batched = rg > 2;
  let da: string | null = null,
    db: string | null = null;
  if (c.needs(0)) {
    let d = c.op('MatMul', [g, swapLast(c, b2, rb2)]);
    if (batched && (ra2 < rg || ra2 !== rb2 || !sameBatch(c, a, b)))
      d = ra === 1 ? c.unbroadcastDynamic(d, a2) : c.unbroadcastDynamic(d, a);
    da = ra === 1 ? c.reshapeLike(d, a) : d;
  }
  if (c.needs(1)) {
    let d = c.op('MatMul', [swapLast(c, a2, ra2), g]);
    if (batched && (rb2 < rg || ra2 !== rb2 || !sameBatch(c, a, b)))
      d = rb === 1 ? c.unbroadcastDynamic(d, b2) : c.unbroadcastDynamic(d, b);
    db = rb === 1 ? c.reshapeLike(d, b) : d;
  }
  return [da, db];
};

/** True when both operands have the same, statically equal batch dims (no broadcasting). */
function sameBatch(c: RuleContext, a: string, b: string): boolean {
  const sa = c.shapes.get(a)?.shape,
    sb = c.shapes.get(b)?.shape;
  if (!sa || !sb || sa.length !== sb.length) return false;
  for (let i = 0; i < sa.length - 2; i++) if (sa[i] === null || sa[i] !== sb[i]) return false;
  return true;
}

export const MATMUL_RULES: Record<string, GradientRule> = { Gemm, MatMul };
