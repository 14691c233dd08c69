/**
 * The gradient-rule registry: op type -> rule. Built from the rule tables under src/train/rules/; which ops
 * have a rule, none, or are lowered first is the op-traits table's `gradient` (a test keeps the two in step).
 */
import { opsWhere } from '../../graph/op-traits.js';
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

/** Ops whose outputs never carry a gradient (shapes, indices, comparisons, rounding): `gradient: 'none'` in the op-traits table. */
export const NON_DIFFERENTIABLE_OPS: ReadonlySet<string> = new Set(opsWhere((t) => t.gradient === 'none'));
