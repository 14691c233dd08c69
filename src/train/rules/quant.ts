/**
 * Straight-through rules for QuantizeLinear -> DequantizeLinear pairs (QDQ
 * models): DequantizeLinear passes g * scale to its integer input as if it
 * were real-valued, QuantizeLinear divides by the scale and zeroes the
 * gradient where the value saturated. Net: dy/dx = 1 inside the grid, 0
 * outside. Scales and zero points get no gradient here (use insertFakeQuant
 * with a trainable scale for LSQ-style learning).
 */
import { ONNX_TYPE } from '../../core/dtypes.js';
import type { GradientRule, RuleContext } from '../autodiff/context.js';

/** [qmin, qmax] of an ONNX integer elem type. */
const GRID: Record<number, [number, number]> = {
  [ONNX_TYPE.uint8]: [0, 255],
  [ONNX_TYPE.int8]: [-128, 127],
  [ONNX_TYPE.uint16]: [0, 65535],
  [ONNX_TYPE.int16]: [-32768, 32767],
  [ONNX_TYPE.uint4]: [0, 15],
  [ONNX_TYPE.int4]: [-8, 7],
};

/** Scale (or zero point) reshaped to broadcast against `x` along the op's axis. */
function alongAxis(c: RuleContext, t: string, x: string): string {
  if (c.intAttr('block_size', 0) > 0) c.unsupported('blocked quantization (block_size)');
  const r = c.shapes.rank(t);
  const size = c.shapes.staticShape(t)?.reduce((a, b) => a * b, 1);
  if (r === 0 || size === 1) return t;
  const xr = c.rank(x);
  const axis = c.intAttr('axis', 1);
  const a = axis < 0 ? axis + xr : axis;
  return c.op('Reshape', [t, c.int64s(Array.from({ length: xr }, (_, i) => (i === a ? -1 : 1)))]);
}

const DequantizeLinear: GradientRule = (c) => {
  const y = c.output(0);
  const scale = alongAxis(c, c.input(1), c.input(0));
  return [c.mul(c.gradOut(0)!, c.op('CastLike', [scale, y])), null, null];
};

const QuantizeLinear: GradientRule = (c) => {
  const x = c.input(0);
  const zp = c.input(2);
  const et = zp ? c.shapes.elemType(zp) : c.intAttr('output_dtype', ONNX_TYPE.uint8) || ONNX_TYPE.uint8;
  const grid = GRID[et];
  if (!grid) return c.unsupported(`zero-point elem type ${et} (straight-through needs an integer grid)`);
  const scale = c.op('CastLike', [alongAxis(c, c.input(1), x), x]);
  let level = c.op('Round', [c.div(x, scale)]);
  if (zp) level = c.add(level, c.op('CastLike', [alongAxis(c, zp, x), x]));
  const inside = c.op('And', [
    c.op('GreaterOrEqual', [level, c.scalarLike(grid[0], x)]),
    c.op('LessOrEqual', [level, c.scalarLike(grid[1], x)]),
  ]);
  const g = c.div(c.gradOut(0)!, scale);
  return [c.op('Where', [inside, g, c.scalarLike(0, x)]), null, null];
};

export const QUANT_RULES: Record<string, GradientRule> = { QuantizeLinear, DequantizeLinear };
