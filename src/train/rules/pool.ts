/** Gradient rules of MaxPool, AveragePool and GlobalAveragePool. */
import { makeTensorProto } from '../../graph/tensor-proto.js';
import type { GradientRule } from '../autodiff/context.js';
import { convGeometry, convTransposeToInput } from './conv-geometry.js';
import { scatterAddFlat } from './shape.js';

/**
 * MaxPool. Non-overlapping windows (kernel = strides, no pads/dilation, static
 * spatial dims that the windows tile exactly, the LeNet case) use a mask:
 * each input equal to its window's max gets g / (number of maxima in the
 * window), all with elementwise ops. Other geometries ask the forward node
 * for its Indices output and scatter-add g there (exact, but slower in
 * onnxruntime).
 */
const MaxPool: GradientRule = (c) => {
  if (c.intAttr('storage_order', 0) !== 0) c.unsupported('storage_order=1');
  const x = c.input(0),
    y = c.output(0),
    g = c.gradOut(0)!;
  const kernel = c.intsAttr('kernel_shape') ?? [];
  const strides = c.intsAttr('strides') ?? kernel.map(() => 1);
  const pads = c.intsAttr('pads') ?? [];
  const dil = c.intsAttr('dilations') ?? [];
  const xs = c.shapes.get(x)?.shape?.slice(2);
  const tiles =
    kernel.length > 0 &&
    c.stringAttr('auto_pad', 'NOTSET') === 'NOTSET' &&
    kernel.every((k, i) => k === strides[i]) &&
    pads.every((p) => p === 0) &&
    dil.every((d) => d === 1) &&
    xs !== undefined &&
    xs.length === kernel.length &&
    xs.every((d, i) => typeof d === 'number' && d % kernel[i]! === 0);
  if (tiles) {
    // Nearest-neighbour upsampling by the window size maps every input element to its window.
    const scales = c.b.constant('float32', [2 + kernel.length], [1, 1, ...kernel]);
    const up = (t: string): string =>
      c.op('Resize', [t, '', scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
    const isMax = c.castLike(c.op('Equal', [x, up(y)]), x);
    const windowSize = kernel.reduce((a, b) => a * b, 1);
    const count = c.mul(c.op('AveragePool', [isMax], { kernel_shape: kernel, strides }), c.scalarLike(windowSize, x));
    return [c.mul(isMax, up(c.div(g, count)))];
  }
  let indices = c.output(1);
  if (!indices) {
    indices = c.b.names.fresh(`${c.output(0)}_argmax`);
    c.node.output[1] = indices;
  }
  return [scatterAddFlat(c, x, indices, g, 'add')];
};

/**
 * AveragePool: every input element receives g / count of each window it lies
 * in: a transposed convolution of the (per-window normalised) gradient with a
 * kernel of ones, one channel at a time.
 */
const AveragePool: GradientRule = (c) => {
  const x = c.input(0);
  const kernel = c.intsAttr('kernel_shape');
  if (!kernel) return c.fail('kernel_shape is required');
  const geo = convGeometry(c, x, kernel);
  const { spatial, strides, pads, dilations } = geo;
  const dt = c.dtype(x);
  if (c.intAttr('ceil_mode', 0)) {
    const xs = c.shapes.get(x)?.shape?.slice(2);
    const ok =
      xs?.every((d) => typeof d === 'number') &&
      (xs as number[]).every((d, i) => (d + pads[i]! + pads[i + spatial]! - (dilations[i]! * (kernel[i]! - 1) + 1)) % strides[i]! === 0);
    if (!ok) c.unsupported('ceil_mode=1 with a partial last window');
  }
  const windowSize = kernel.reduce((a, b) => a * b, 1);
  const hasPads = pads.some((p) => p !== 0);
  let g = c.gradOut(0)!;
  const ones = c.b.initializer('avgpool_ones_kernel', dt, [1, 1, ...kernel], new Array<number>(windowSize).fill(1));
  if (hasPads && !c.intAttr('count_include_pad', 0)) {
    // Per-window count of real (unpadded) input elements.
    const spatialShape = c.op('Slice', [c.shapeOf(x), c.int64s([2]), c.int64s([2 + spatial])]);
    const plane = c.op('ConstantOfShape', [c.op('Concat', [c.int64s([1, 1]), spatialShape], { axis: 0 })], {
      value: { tensor: makeTensorProto('', dt, [1], [1]) },
    });
    const counts = c.op('Conv', [plane, ones], { strides, pads, dilations, kernel_shape: kernel });
    g = c.div(g, counts);
  } else g = c.mul(g, c.scalarLike(1 / windowSize, x));
  // [N, C, *O] -> [N*C, 1, *O], transposed conv with ones, back to [N, C, *S].
  const gShape = c.op('Concat', [c.int64s([-1, 1]), c.op('Slice', [c.op('Shape', [g]), c.int64s([2]), c.int64s([2 + spatial])])], {
    axis: 0,
  });
  const flatG = c.op('Reshape', [g, gShape]);
  const xPlanes = c.op('Concat', [c.int64s([-1, 1]), c.op('Slice', [c.shapeOf(x), c.int64s([2]), c.int64s([2 + spatial])])], { axis: 0 });
  // A stand-in with x's plane shape so the helper can size the output.
  const planeRef = c.op('Reshape', [x, xPlanes]);
  c.shapes.set(
    planeRef,
    c.shapes.elemType(x),
    (() => {
      const s = c.shapes.get(x)?.shape;
      return s ? [null, 1, ...s.slice(2)] : undefined;
    })(),
  );
  const dPlanes = convTransposeToInput(c, flatG, ones, planeRef, geo, 1);
  return [c.reshapeLike(dPlanes, x)];
};

/** GlobalAveragePool: g / (number of spatial elements), broadcast over the plane. */
const GlobalAveragePool: GradientRule = (c) => {
  const x = c.input(0);
  const xs = c.shapes.get(x)?.shape?.slice(2);
  const count = xs?.every((d) => typeof d === 'number')
    ? c.scalarLike(
        (xs as number[]).reduce((a, b) => a * b, 1),
        x,
      )
    : c.castLike(c.op('Div', [c.op('Size', [x]), c.op('Size', [c.output(0)])]), x);
  return [c.div(c.op('Expand', [c.gradOut(0)!, c.shapeOf(x)]), count)];
};

export const POOL_RULES: Record<string, GradientRule> = { MaxPool, AveragePool, GlobalAveragePool };
