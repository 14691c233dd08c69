/**
 * Which weights a scheme touches: --include / --exclude patterns in the one
 * selection language of src/graph/select.ts (glob or /regex/ over the tensor
 * name, consumer node names and op types) and --min-size.
 */
import { compileFilter, compilePattern, selectionKeys, type Matcher } from '../graph/select.js';
import type { WeightDef } from '../graph/weights.js';

export { compilePattern, selectionKeys, type Matcher };

export interface Selection {
  /** Undefined when selected, else why not. */
  reasonSkipped(def: WeightDef, elements: number): string | undefined;
}

export function makeSelection(include: readonly string[] = [], exclude: readonly string[] = [], minSize = 256): Selection {
  const filter = compileFilter(include, exclude);
  return {
    reasonSkipped(def, elements) {
      const why = filter.reasonSkipped(selectionKeys(def));
      if (why) return why;
      if (elements < minSize) return `smaller than --min-size ${minSize}`;
      return undefined;
    },
  };
}
