/**
 * The options vocabulary every command uses: argument parsers with one error
 * style (E_ARG naming the option and the value), and option groups (data,
 * training, output, selection) that add the same flags, spelled and
 * described the same way, to any command.
 *
 * Help shows defaults one way, commander's "(default: x)": from `.default()`
 * where the default is a value the command uses, and from `defaultText`
 * where it depends on the input (e.g. "from the output extension").
 */
import { Option, type Command } from 'commander';
import { ModelpressError } from '../core/errors.js';
import { OPTIMIZER_NAMES, type OptimizerName } from '../train/optim/index.js';
import { DATASETS } from './data.js';

/** Parses one option value; `flag` is the long flag ('--top') for the message. */
export type Parse<T> = (value: string, flag: string) => T;

function bad(flag: string, what: string, value: string): never {
  throw new ModelpressError('E_ARG', `${flag} must be ${what}, got "${value}"`);
}

export interface Range {
  readonly min?: number;
  readonly max?: number;
  /** A number strictly greater than this. */
  readonly above?: number;
}

function rangeText(r: Range, kind: string): string {
  const parts: string[] = [];
  if (r.above !== undefined) parts.push(`> ${r.above}`);
  if (r.min !== undefined && r.max !== undefined) return `${kind} in [${r.min}, ${r.max}]`;
  if (r.min !== undefined) parts.push(`>= ${r.min}`);
  if (r.max !== undefined) parts.push(`<= ${r.max}`);
  return parts.length ? `${kind} ${parts.join(' and ')}` : kind;
}

function inRange(n: number, r: Range): boolean {
  return (r.min === undefined || n >= r.min) && (r.max === undefined || n <= r.max) && (r.above === undefined || n > r.above);
}

/** A whole number (optionally in a range). */
export function int(range: Range = {}): Parse<number> {
  return (v, flag) => {
    const n = v.trim() === '' ? NaN : Number(v);
    if (!Number.isInteger(n) || !inRange(n, range)) bad(flag, rangeText(range, 'an integer'), v);
    return n;
  };
}

/** A finite number, also written as a ratio `a/b` (e.g. 1/255). */
export function number(range: Range = {}): Parse<number> {
  return (v, flag) => {
    const slash = v.indexOf('/');
    const n = v.trim() === '' ? NaN : slash > 0 ? Number(v.slice(0, slash)) / Number(v.slice(slash + 1)) : Number(v);
    if (!Number.isFinite(n) || !inRange(n, range)) bad(flag, rangeText(range, 'a number'), v);
    return n;
  };
}

/** A share in [0, 1], written as a fraction (0.25) or a percentage (25%). */
export function fraction(range: { readonly below1?: boolean; readonly above0?: boolean } = {}): Parse<number> {
  const what = `a fraction in ${range.above0 ? '(' : '['}0, 1${range.below1 ? ')' : ']'} (or a percentage like 25%)`;
  return (v, flag) => {
    const t = v.trim();
    const n = t.endsWith('%') ? Number(t.slice(0, -1)) / 100 : t === '' ? NaN : Number(t);
    if (!Number.isFinite(n) || n < 0 || n > 1 || (range.below1 && n === 1) || (range.above0 && n === 0)) bad(flag, what, v);
    return n;
  };
}

/** One of a fixed set of words (compared case-sensitively). */
export function oneOf<T extends string>(values: readonly T[]): Parse<T> {
  return (v, flag) => {
    if (!(values as readonly string[]).includes(v)) bad(flag, `one of ${values.join(', ')}`, v);
    return v as T;
  };
}

/** A `name=value` pair, the value parsed by `value`. */
export function pair<T = string>(value: Parse<T> = (v) => v as T): Parse<[string, T]> {
  return (v, flag) => {
    const eq = v.lastIndexOf('=');
    if (eq <= 0 || eq === v.length - 1) bad(flag, 'name=value', v);
    return [v.slice(0, eq), value(v.slice(eq + 1), flag)];
  };
}

/** Comma-separated items, each parsed by `item` (e.g. --mean 0.5,0.4,0.4). */
export function commaList<T = string>(item: Parse<T> = (v) => v as T): Parse<T[]> {
  return (v, flag) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => item(s, flag));
}

export interface OptionSpec<T> {
  readonly parse?: Parse<T>;
  readonly default?: T;
  /** Shown as "(default: text)" when the default is not a fixed value. */
  readonly defaultText?: string;
  /** The flag may be given more than once; values collect into a list (`parse` may itself return a list). */
  readonly repeatable?: boolean;
  /** Also split each value at commas (with `repeatable`). */
  readonly commas?: boolean;
  /** Choices shown in help (for words). */
  readonly choices?: readonly string[];
  readonly required?: boolean;
}

/** A commander Option built from the vocabulary: parsed, defaulted and described one way. */
export function option<T = string>(flags: string, description: string, spec: OptionSpec<T> = {}): Option {
  const desc = spec.defaultText ? `${description} (default: ${spec.defaultText})` : description;
  const o = new Option(flags, desc);
  const flag = o.long ?? o.short ?? flags;
  const one: Parse<unknown> = spec.parse ?? ((v) => v);
  if (spec.repeatable) {
    const split = spec.commas ? commaList(one) : (v: string, f: string) => [one(v, f)];
    o.argParser((v: string, prev: unknown) => {
      // A default list is replaced, not extended, by the first value given.
      const base = Array.isArray(prev) && prev !== spec.default ? prev : [];
      return [...base, ...split(v, flag)];
    });
  } else if (spec.parse) {
    const parse = spec.parse;
    o.argParser((v: string) => parse(v, flag));
  }
  // Shown in help; validation stays with `parse` (commander's .choices() would replace it and its error style).
  if (spec.choices) o.argChoices = [...spec.choices];
  if (spec.default !== undefined) o.default(spec.default);
  if (spec.required) o.makeOptionMandatory(true);
  return o;
}

/** Adds options to a command (chainable). */
export function addOptions(cmd: Command, ...options: Option[]): Command {
  for (const o of options) cmd.addOption(o);
  return cmd;
}

// ---- groups ----

export interface OutputGroup {
  /** `-o, --output <file>` and its description; omitted when the command writes no file. */
  readonly output?: string;
  /** What --json prints (the schema is named in docs/CLI.md). */
  readonly json: string;
}

/** -o/--output (required) and --json. */
export function addOutputOptions(cmd: Command, g: OutputGroup): Command {
  if (g.output) cmd.addOption(option('-o, --output <file>', g.output, { required: true }));
  return cmd.addOption(option('--json', g.json));
}

/** --include / --exclude in the one selection language (src/graph/select.ts); both repeatable and comma-separated. */
export function addSelectionOptions(cmd: Command, what = 'weights'): Command {
  const language = 'glob with * and ?, or /regex/, over tensor name, consumer node name and op type';
  return addOptions(
    cmd,
    option('--include <patterns>', `only ${what} matched by one of these patterns (${language}); comma-separated, repeatable`, {
      repeatable: true,
      commas: true,
    }),
    option('--exclude <patterns>', `never ${what} matched by one of these patterns (same language as --include)`, {
      repeatable: true,
      commas: true,
    }),
  );
}

/** --dim: symbolic input dimensions, `name=value`, repeatable and comma-separated. */
export function dimOption(what = 'value of a symbolic input dim, e.g. --dim batch=1'): Option {
  return option('--dim <name=value>', `${what}; comma-separated, repeatable`, {
    parse: pair(int({ min: 1 })),
    repeatable: true,
    commas: true,
  });
}

/** Dimension pairs as a record. */
export function dimsRecord(dims: readonly [string, number][] | undefined): Record<string, number> {
  return Object.fromEntries(dims ?? []);
}

/**
 * --follow-symlinks: read external data files and TF.js shards that are (or
 * sit under) symbolic links inside the model's folder. FIFOs, devices and
 * sockets stay refused. Pass the value on as `followSymlinks` in the load options.
 */
export function followSymlinksOption(): Option {
  return option(
    '--follow-symlinks',
    "read external data files and TF.js shards through symbolic links (refused by default: a link can point outside the model's folder)",
  );
}

/** --data-dir: where the IDX datasets are. */
export function dataDirOption(): Option {
  return option('--data-dir <dir>', 'folder with the Fashion-MNIST/MNIST IDX files', {
    defaultText: 'the system copy under /usr/share/datasets',
  });
}

/** --seed: one seed for everything random the command does (`what` names it). */
export function seedOption(what: string, defaultSeed = 0): Option {
  return option('--seed <n>', `seed for ${what}`, { parse: int({ min: 0 }), default: defaultSeed });
}

/** --calib-size: samples in the calibration split (the seeded subset of train a dataset spec's :calibration names). */
export function calibSizeOption(defaultSize: number, what = 'calibration samples (a seeded subset of the training split)'): Option {
  return option('--calib-size <n>', what, { parse: int({ min: 1 }), default: defaultSize });
}

/** --test-fraction: the held-out share of a file without an official split. */
export function testFractionOption(): Option {
  return option('--test-fraction <f>', 'test share when a file has no official split', {
    parse: fraction({ below1: true, above0: true }),
    default: 0.2,
  });
}

/** --limit: only the first n samples. */
export function limitOption(what: string): Option {
  return option('--limit <n>', what, { parse: int({ min: 1 }) });
}

/** --max-output: the decoded-size limit for reading an .mpz (the reader's default is 256x the file + 64 MiB). */
export function maxOutputOption(): Option {
  return option('--max-output <bytes>', 'refuse an .mpz whose decoded size exceeds this many bytes (E_LIMIT)', {
    parse: int({ min: 1 }),
    defaultText: '256x the .mpz file size + 64 MiB',
  });
}

/** --max-cm-bytes: lifts the reader's cap on context-mixing decoding (MAX_GENERIC_BYTES, 512 KiB per file). */
export function maxCmBytesOption(): Option {
  return option(
    '--max-cm-bytes <bytes>',
    'refuse an .mpz that asks for more than this many bytes of context-mixing decoding (E_LIMIT; that coder runs at ~0.5 MB/s)',
    { parse: int({ min: 1 }), defaultText: '524288 (512 KiB)' },
  );
}

/** --top: rows of a terminal table, largest first (the JSON always lists all). */
export function topOption(what = 'tensors listed in the terminal table, largest first (the JSON lists all)'): Option {
  return option('--top <n>', what, { parse: int({ min: 0 }), default: 20 });
}

/** --block-size: elements per quantization block along the reduction axis (int4 schemes). */
export function blockSizeOption(spec: { readonly default?: number; readonly defaultText?: string } = {}): Option {
  return option('--block-size <n>', 'int4 block size along the reduction axis (16-256, power of two)', {
    parse: int({ min: 16, max: 256 }),
    ...spec,
  });
}

/** What --data accepts (src/cli/data.ts loads it; the language is docs/CLI.md's "Data specs"). */
export const DATA_HELP = `${DATASETS.join(' or ')} (official train/test splits, from --data-dir), a .npz file with arrays x (or named after the model inputs) and optional labels y, a .npy file, or a folder of PNG/JPEG images; files and folders split 80/20 by a seeded permutation (docs/CLI.md, Data specs)`;

/** --preprocess: the preprocessing JSON of an image-folder --data (default: the folder's preprocess.json). */
export function preprocessOption(): Option {
  return option('--preprocess <file>', 'image preprocessing JSON for a folder --data (size, fit, layout, channels, scale, mean, std)', {
    defaultText: "the folder's preprocess.json",
  });
}

/** --val-split: the validation hold-out as a fraction of the training examples (wins over --val-size). */
export function valSplitOption(): Option {
  return option('--val-split <fraction>', 'hold out this fraction of the training examples for validation (instead of --val-size)', {
    parse: fraction({ below1: true }),
  });
}

export interface DataGroup {
  /** What the data is for, e.g. 'training data'. */
  readonly what: string;
  /** --data must be given. */
  readonly required?: boolean;
  /** The dataset used when --data is not given. */
  readonly default?: string;
}

/** What the data group parses to. */
export interface DataCliOptions {
  data: string;
  dataDir?: string;
  testLimit?: number;
  preprocess?: string;
  testFraction?: number;
}

/** The data group: --data (a named dataset, a .npz/.npy or an image folder), --data-dir, --preprocess, --test-fraction and --test-limit. */
export function addDataOptions(cmd: Command, g: DataGroup): Command {
  return addOptions(
    cmd,
    option('--data <spec>', `${g.what}: ${DATA_HELP}; no :split suffix`, {
      ...(g.required ? { required: true } : {}),
      ...(g.default === undefined ? {} : { default: g.default }),
    }),
    dataDirOption(),
    preprocessOption(),
    testFractionOption(),
    option('--test-limit <n>', 'evaluate on only the first n test examples', {
      parse: int({ min: 1 }),
      defaultText: 'the whole test split',
    }),
  );
}

/** What the training group parses to (commander's camelCase of the flags). */
export interface TrainingCliOptions {
  epochs: number;
  lr?: number;
  batchSize: number;
  optimizer: OptimizerName;
  weightDecay?: number;
  momentum?: number;
  lrSchedule: string;
  maxGradNorm?: number;
  seed: number;
  valSize: number;
  valSplit?: number;
  patience?: number;
  limit?: number;
}

/** Flags of the training group a command may leave out, where its engine has no validation pass. */
export type OptionalTrainingFlag = 'valSize' | 'patience';

export interface TrainingDefaults {
  /** Default of the epochs flag; omitted: none (the command trains only when the flag is given, or decides itself). */
  readonly epochs?: number;
  /**
   * The epochs flag: `--epochs` where training is what the command does, `--finetune-epochs` where it is an optional
   * step after the command's own work (prune, cluster); parsed as `epochs` or `finetuneEpochs`.
   */
  readonly epochsFlag?: '--epochs' | '--finetune-epochs';
  /** Smallest epochs value (default 1; 0 where zero means "measure without training"). */
  readonly epochsMin?: number;
  /** Help of the epochs flag; default "passes over the training data". */
  readonly epochsHelp?: string;
  /** Shown as the --lr default; without it the optimizer's own (1e-3 for adam/adamw, 0.01 for sgd). */
  readonly lr?: string;
  readonly lrSchedule: string;
  /** Default of --val-size (5000). */
  readonly valSize?: number;
  /** What "training" is called in the help of a command that trains as a step (e.g. 'fine-tuning'). */
  readonly what?: string;
  /** What --seed seeds (default: initialization, the hold-out split and shuffling). */
  readonly seeds?: string;
  /** Flags this command does not take. */
  readonly without?: readonly OptionalTrainingFlag[];
}

/**
 * The training group: epochs, learning rate and its schedule, batch size,
 * optimizer, weight decay, momentum, gradient clipping, seed, the
 * validation hold-out with early stopping, and --limit.
 */
export function addTrainingOptions(cmd: Command, d: TrainingDefaults): Command {
  const what = d.what ?? 'training';
  const without = new Set(d.without ?? []);
  const epochsSpec = { parse: int({ min: d.epochsMin ?? 1 }), ...(d.epochs === undefined ? {} : { default: d.epochs }) };
  return addOptions(
    cmd,
    option(`${d.epochsFlag ?? '--epochs'} <n>`, d.epochsHelp ?? 'passes over the training data', epochsSpec),
    option('--lr <rate>', `${what} learning rate`, {
      parse: number({ above: 0 }),
      defaultText: d.lr ?? '1e-3 for adam/adamw, 0.01 for sgd',
    }),
    option('--lr-schedule <spec>', 'constant | cosine | step:<epochs>[:<gamma>], optionally prefixed warmup:<epochs>+', {
      default: d.lrSchedule,
    }),
    option('--batch-size <n>', `${what} examples per step`, { parse: int({ min: 1 }), default: 64 }),
    option('--optimizer <name>', `${what} optimizer`, { parse: oneOf(OPTIMIZER_NAMES), choices: OPTIMIZER_NAMES, default: 'adam' }),
    option('--weight-decay <wd>', 'weight decay (L2 for sgd/adam, decoupled for adamw)', {
      parse: number({ min: 0 }),
      defaultText: '0; adamw 0.01',
    }),
    option('--momentum <m>', 'SGD momentum', { parse: number({ min: 0 }), defaultText: '0.9' }),
    option('--max-grad-norm <n>', 'clip gradients to this global L2 norm', { parse: number({ min: 0 }) }),
    seedOption(d.seeds ?? 'initialization, the hold-out split and shuffling'),
    ...(without.has('valSize')
      ? []
      : [
          option('--val-size <n>', 'training examples held out to pick the best epoch (0: none, keep the last epoch)', {
            parse: int({ min: 0 }),
            default: d.valSize ?? 5000,
          }),
          valSplitOption(),
        ]),
    ...(without.has('patience')
      ? []
      : [option('--patience <n>', 'early stopping: stop after this many epochs without validation gain', { parse: int({ min: 1 }) })]),
    limitOption(`use only the first n training examples for ${what} (quick runs)`),
  );
}
