/** Shared geometry of convolution-like ops: explicit pads, strides, dilations, and the "back to input size" transpose convolution. */
import type { RuleContext } from '../autodiff/context.js';

export interface ConvGeometry {
  spatial: number;
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [begin..., end...] explicit pads. */
  pads: number[];
}

/** Reads kernel/strides/dilations/pads of the rule's node, resolving auto_pad with static input dims. */
export function convGeometry(c: RuleContext, x: string, kernel: number[]): ConvGeometry {
  const spatial = kernel.length;
  const strides = c.intsAttr('strides') ?? Array(spatial).fill(1);
  const dilations = c.intsAttr('dilations') ?? Array(spatial).fill(1);
  const autoPad = c.stringAttr('auto_pad', 'NOTSET');
  let pads = c.intsAttr('pads') ?? Array(2 * spatial).fill(0);
  if (autoPad === 'VALID') pads = Array(2 * spatial).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const xs = c.shapes.get(x)?.shape;
    const dims = xs?.slice(2);
    if (!dims?.every((d) => typeof d === 'number')) c.unsupported(`auto_pad=${autoPad} needs static spatial dims of '${x}'`);
    pads = Array(2 * spatial).fill(0);
    (dims as number[]).forEach((d, i) => {
      const ek = dilations[i]! * (kernel[i]! - 1) + 1;
      const total = Math.max(0, (Math.ceil(d / strides[i]!) - 1) * strides[i]! + ek - d);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + spatial] = total - pads[i]!;
    });
  } else if (autoPad !== 'NOTSET') c.unsupported(`auto_pad=${autoPad}`);
  return { spatial, kernel, strides, dilations, pads };
}

/**
 * ConvTranspose of `g` with weight `w` (shape [M, C/G, *K]) back to the spatial
 * size of `x`, i.e. the adjoint of Conv(x, w) with the geometry `geo`.
 * Static spatial dims use output_padding; otherwise the result is padded or
 * sliced at run time.
 */
export function convTransposeToInput(c: RuleContext, g: string, w: string, x: string, geo: ConvGeometry, group: number): string {
  const { spatial, kernel, strides, dilations, pads } = geo;
  const xs = c.shapes.get(x)?.shape?.slice(2);
  const base = { strides, dilations, group, kernel_shape: kernel };
  if (xs?.every((d) => typeof d === 'number')) {
    const outPad = (xs as number[]).map((d, i) => {
      const ek = dilations[i]! * (kernel[i]! - 1) + 1;
      return (d + pads[i]! + pads[i + spatial]! - ek) % strides[i]!;
    });
    return c.op('ConvTranspose', [g, w], { ...base, pads, output_padding: outPad });
  }
  // Dynamic: no end padding, then pad with zeros / slice to the input's size.
  const begin = pads.slice(0, spatial);
  const full = c.op('ConvTranspose', [g, w], { ...base, pads: [...begin, ...Array(spatial).fill(0)] });
  const want = c.op('Slice', [c.shapeOf(x), c.int64s([2]), c.int64s([2 + spatial])]);
  const have = c.op('Slice', [c.op('Shape', [full]), c.int64s([2]), c.int64s([2 + spatial])]);
  const extra = c.op('Max', [c.op('Sub', [want, have]), c.int64s(Array(spatial).fill(0))]);
  const padAmounts = c.op('Concat', [c.int64s(Array(2 + spatial + 2).fill(0)), extra], { axis: 0 });
  const padded = c.op('Pad', [full, padAmounts]);
  const axes = Array.from({ length: spatial }, (_, i) => i + 2);
  return c.op('Slice', [padded, c.int64s(Array(spatial).fill(0)), want, c.int64s(axes)]);
}
