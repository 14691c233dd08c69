/**
 * Which weights a scheme touches: --include / --exclude patterns (exact
 * tensor name, consumer node name or op type, or /regex/ over all three) and
 * --min-size.
 */
import { ModelpressError } from '../core/errors.js';
import type { WeightDef } from '../graph/weights.js';

export type Matcher = (candidates: readonly string[]) => boolean;

export function compilePattern(p: string): Matcher {
  if (p.length >= 2 && p.startsWith('/') && p.lastIndexOf('/') > 0) {
    const end = p.lastIndexOf('/');
    let re: RegExp;
    try {
      re = new RegExp(p.slice(1, end), p.slice(end + 1));
    } catch (e) {
      throw new ModelpressError('E_ARG', `bad regular expression ${p}: ${(e as Error).message}`);
    }
    return (cs) => cs.some((c) => re.test(c));
  }
  return (cs) => cs.includes(p);
}

/** The names a pattern is matched against for a weight. */
export function selectionKeys(def: WeightDef): string[] {
  const keys = [def.name];
  for (const c of def.consumers) keys.push(c.label, c.node.opType);
  return keys;
}

export interface Selection {
  /** Undefined when selected, else why not. */
  reasonSkipped(def: WeightDef, elements: number): string | undefined;
}

export function makeSelection(include: readonly string[] = [], exclude: readonly string[] = [], minSize = 256): Selection {
  const inc = include.map(compilePattern);
  const exc = exclude.map(compilePattern);
  return {
    reasonSkipped(def, elements) {
      const keys = selectionKeys(def);
      if (inc.length > 0 && !inc.some((m) => m(keys))) return 'not matched by --include';
      if (exc.some((m) => m(keys))) return 'matched by --exclude';
      if (elements < minSize) return `smaller than --min-size ${minSize}`;
      return undefined;
    },
  };
}
