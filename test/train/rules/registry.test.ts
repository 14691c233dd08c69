import { describe, expect, it } from 'vitest';
import { opsWhere } from '../../../src/graph/op-traits.js';
import { LOWERED_OPS } from '../../../src/train/autodiff/lower.js';
import { differentiableOps, NON_DIFFERENTIABLE_OPS } from '../../../src/train/autodiff/registry.js';

describe('gradient rules and the op-traits table agree', () => {
  it("the built-in rules cover exactly the ops marked gradient: 'rule'", () => {
    expect(differentiableOps()).toEqual(opsWhere((t) => t.gradient === 'rule'));
  });

  it("the ops marked gradient: 'none' are the non-differentiable ones and have no rule", () => {
    expect([...NON_DIFFERENTIABLE_OPS].sort()).toEqual([
      'And',
      'ArgMax',
      'ArgMin',
      'Bernoulli',
      'Ceil',
      'Constant',
      'ConstantOfShape',
      'Equal',
      'EyeLike',
      'Floor',
      'Greater',
      'GreaterOrEqual',
      'IsInf',
      'IsNaN',
      'Less',
      'LessOrEqual',
      'NonZero',
      'Not',
      'OneHot',
      'Or',
      'RandomNormal',
      'RandomNormalLike',
      'RandomUniform',
      'RandomUniformLike',
      'Range',
      'Shape',
      'Sign',
      'Size',
      'Xor',
    ]);
    const rules = new Set(differentiableOps());
    for (const op of NON_DIFFERENTIABLE_OPS) expect(rules.has(op), op).toBe(false);
  });

  it("the ops marked gradient: 'lowered' are rewritten to primitives before differentiation", () => {
    const lowered = opsWhere((t) => t.gradient === 'lowered');
    expect(lowered).toEqual(['BatchNormalization', 'InstanceNormalization', 'LayerNormalization']);
    for (const op of lowered) expect(LOWERED_OPS.has(op), op).toBe(true);
  });
});
