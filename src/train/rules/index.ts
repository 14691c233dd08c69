/** The built-in gradient rules, one table per op group. */
import type { GradientRule } from '../autodiff/context.js';
import { ACTIVATION_RULES } from './activations.js';
import { CONV_RULES } from './conv.js';
import { ELEMENTWISE_RULES } from './elementwise.js';
import { MATMUL_RULES } from './matmul.js';
import { MISC_RULES } from './misc.js';
import { POOL_RULES } from './pool.js';
import { QUANT_RULES } from './quant.js';
import { REDUCE_RULES } from './reduce.js';
import { SHAPE_RULES } from './shape.js';

export const BUILTIN_RULES: Readonly<Record<string, GradientRule>> = {
  ...ELEMENTWISE_RULES,
  ...ACTIVATION_RULES,
  ...MATMUL_RULES,
  ...SHAPE_RULES,
  ...REDUCE_RULES,
  ...MISC_RULES,
  ...CONV_RULES,
  ...POOL_RULES,
  ...QUANT_RULES,
};

export { STE_MARKER } from './misc.js';
