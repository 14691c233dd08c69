/** Gradient rules of Conv and ConvTranspose (groups incl. depthwise, strides, pads, dilations). */
import type { GradientRule, RuleContext } from '../autodiff/context.js';
import { convGeometry, convTransposeToInput, type ConvGeometry } from './conv-geometry.js';

function staticWeightShape(c: RuleContext, w: string): number[] {
  const s = c.shapes.staticShape(w);
  if (!s) c.fail(`the shape of weight '${w}' must be static`);
  return s;
}

/** [N, G*P, *S] -> [P, G*N, *S]: groups become batch-of-channels for the weight-gradient convolution. */
function groupsToBatch(c: RuleContext, t: string, group: number, perGroup: number, spatial: number): string {
  const perm = [1, 0, ...Array.from({ length: spatial }, (_, i) => i + 2)];
  if (group === 1) return c.op('Transpose', [t], { perm });
  const split = c.op('Reshape', [t, c.int64s([0, group, perGroup, -1])]);
  const moved = c.op('Transpose', [split], { perm: [2, 1, 0, 3] });
  const spatialShape = c.op('Slice', [c.shapeOf(t), c.int64s([2]), c.int64s([2 + spatial])]);
  return c.op('Reshape', [moved, c.op('Concat', [c.int64s([perGroup, -1]), spatialShape], { axis: 0 })]);
}

/** [N, G*Q, *O] -> [G*Q, N, *O] (the gradient as a kernel with N input channels per group). */
function channelsFirst(c: RuleContext, t: string, spatial: number): string {
  return c.op('Transpose', [t], { perm: [1, 0, ...Array.from({ length: spatial }, (_, i) => i + 2)] });
}

/**
 * Weight gradient as one grouped convolution: correlate the input (groups
 * moved to batch) with the output gradient used as kernel; strides and
 * dilations swap roles. The result is sliced to the kernel size.
 */
function weightGrad(c: RuleContext, input: string, kernelLike: string, geo: ConvGeometry, group: number, inPerGroup: number): string {
  const { spatial, kernel, strides, dilations, pads } = geo;
  const lhs = groupsToBatch(c, input, group, inPerGroup, spatial);
  const rhs = channelsFirst(c, kernelLike, spatial);
  const corr = c.op('Conv', [lhs, rhs], { strides: dilations, dilations: strides, pads, group });
  const axes = Array.from({ length: spatial }, (_, i) => i + 2);
  const cropped = c.op('Slice', [corr, c.int64s(Array(spatial).fill(0)), c.int64s(kernel), c.int64s(axes)]);
  const swapped = c.op('Transpose', [cropped], { perm: [1, 0, ...axes] });
  return swapped;
}

const Conv: GradientRule = (c) => {
  const g = c.gradOut(0)!;
  const [x, w] = [c.input(0), c.input(1)];
  const wShape = staticWeightShape(c, w);
  const group = c.intAttr('group', 1);
  const geo = convGeometry(c, x, wShape.slice(2));
  const dx = c.needs(0) ? convTransposeToInput(c, g, w, x, geo, group) : null;
  // dW[m, ci, k] = sum_n,o g[n, m, o] x[n, g*Cg + ci, o*s + k*d - p]
  const dw = c.needs(1) ? weightGrad(c, x, g, geo, group, wShape[1]!) : null;
  const db = c.needs(2) && c.input(2) ? c.reduceSum(g, [0, ...Array.from({ length: geo.spatial }, (_, i) => i + 2)], false) : null;
  return [dx, dw, db];
};

const ConvTranspose: GradientRule = (c) => {
  const g = c.gradOut(0)!;
  const [x, w] = [c.input(0), c.input(1)];
  const wShape = staticWeightShape(c, w);
  const group = c.intAttr('group', 1);
  if (c.hasAttr('output_shape')) c.unsupported('output_shape (give explicit pads and output_padding)');
  const autoPad = c.stringAttr('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') c.unsupported(`auto_pad=${autoPad}`);
  const geo = convGeometry(c, x, wShape.slice(2));
  // The adjoint of a transposed convolution is the convolution with the same geometry.
  const dx = c.needs(0)
    ? c.op('Conv', [g, w], { strides: geo.strides, dilations: geo.dilations, pads: geo.pads, group, kernel_shape: geo.kernel })
    : null;
  // dW[ci, co, k] = sum_n,i x[n, ci, i] g[n, co, i*s + k*d - p]: correlate g (groups to batch) with x as kernel.
  const dw = c.needs(1) ? weightGrad(c, g, x, geo, group, wShape[1]!) : null;
  const db = c.needs(2) && c.input(2) ? c.reduceSum(g, [0, ...Array.from({ length: geo.spatial }, (_, i) => i + 2)], false) : null;
  return [dx, dw, db];
};

export const CONV_RULES: Record<string, GradientRule> = { Conv, ConvTranspose };
