/** The gradient-rule registry: op type -> rule. Built from the rule tables under src/train/rules/. */
import type { GradientRule } from './context.js';
import { BUILTIN_RULES } from '../rules/index.js';

export type RuleRegistry = ReadonlyMap<string, GradientRule>;

/** Registry key: the op type for the default domain, `domain::OpType` otherwise. */
export function ruleKey(domain: string, opType: string): string {
  return domain === '' || domain === 'ai.onnx' ? opType : `${domain}::${opType}`;
}

/** A fresh registry with the built-in rules plus `extra` (which override built-ins of the same key). */
export function createRuleRegistry(extra: Record<string, GradientRule> = {}): Map<string, GradientRule> {
  return new Map<string, GradientRule>([...Object.entries(BUILTIN_RULES), ...Object.entries(extra)]);
}

/** Op types with a built-in gradient rule, sorted. */
export function differentiableOps(): string[] {
  return Object.keys(BUILTIN_RULES).sort();
}

/** Ops whose outputs never carry a gradient (shapes, indices, comparisons, rounding). */
export const NON_DIFFERENTIABLE_OPS = new Set([
  'Shape', 'Size', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor',
  'ArgMax', 'ArgMin', 'NonZero', 'ConstantOfShape', 'Constant', 'Range', 'OneHot', 'Floor', 'Ceil', 'Sign',
  'IsNaN', 'IsInf', 'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'EyeLike',
]);
