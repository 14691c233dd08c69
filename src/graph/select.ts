/**
 * The one selection language of --include / --exclude (quantize, prune and
 * every command that picks weights): a pattern is
 *
 * - `/regex/flags`: a JavaScript regular expression (unanchored; flags from
 *   `imsuv`, `g`/`y` are accepted and ignored) when it starts with `/` and
 *   the text after its last `/` is only flag letters;
 * - otherwise a glob matched against the whole key: `*` any run of
 *   characters, `?` one character, everything else literal (so a plain name
 *   is an exact match).
 *
 * A weight's keys are its tensor name and, for every node consuming it, the
 * node's name, its label (the name, or `OpType_index` when unnamed) and its
 * op type; a pattern selects the weight when it matches any key.
 */
import { ModelpressError } from '../core/errors.js';

/** Tests a list of keys; true when any matches. */
export type Matcher = (keys: readonly string[]) => boolean;

const REGEX_FORM = /^\/(.+)\/([a-z]*)$/s;
const FLAGS = /^[dgimsuvy]*$/;

/** The RegExp a pattern stands for (a glob becomes an anchored expression). */
export function patternRegExp(pattern: string): RegExp {
  const m = REGEX_FORM.exec(pattern);
  if (m && FLAGS.test(m[2]!)) {
    try {
      return new RegExp(m[1]!, m[2]!.replace(/[gy]/g, ''));
    } catch (e) {
      throw new ModelpressError('E_ARG', `bad regular expression ${pattern}: ${(e as Error).message}`);
    }
  }
  const body = pattern
    .replace(/[.+^${}()|[\]\\/]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

export function compilePattern(pattern: string): Matcher {
  const re = patternRegExp(pattern);
  return (keys) => keys.some((k) => re.test(k));
}

/** The shape of a weight the keys are read from (quantize's and prune's WeightDef fit it). */
export interface SelectableWeight {
  readonly name: string;
  readonly consumers: readonly { readonly label: string; readonly node: { readonly name?: string | undefined; readonly opType: string } }[];
}

/** The keys patterns are matched against for a weight. */
export function selectionKeys(def: SelectableWeight): string[] {
  const keys = new Set([def.name]);
  for (const c of def.consumers) {
    if (c.node.name) keys.add(c.node.name);
    keys.add(c.label);
    keys.add(c.node.opType);
  }
  return [...keys];
}

export interface PatternFilter {
  /** Why `keys` are left out ('not matched by --include' / 'matched by --exclude'), or undefined when selected. */
  reasonSkipped(keys: readonly string[]): string | undefined;
}

/** Compiles --include / --exclude once: selected when some include matches (or none are given) and no exclude does. */
export function compileFilter(include: readonly string[] = [], exclude: readonly string[] = []): PatternFilter {
  const inc = include.map(compilePattern);
  const exc = exclude.map(compilePattern);
  return {
    reasonSkipped(keys) {
      if (inc.length > 0 && !inc.some((m) => m(keys))) return 'not matched by --include';
      if (exc.some((m) => m(keys))) return 'matched by --exclude';
      return undefined;
    },
  };
}
