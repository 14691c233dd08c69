/**
 * The fidelity guard of the commands that train a changed model (prune,
 * cluster, qat, distill, compress, finetune): the result against the
 * original on the held-back split of --data (the test split, never trained
 * on) — output SNR and cosine, and with labels accuracy before and after —
 * or, without --data, on seeded random inputs, said as such. `--min-snr`
 * and `--max-drop` turn it into a refusal: E_FIDELITY (exit 1) before
 * anything is written.
 */
import type { Command } from 'commander';
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { sampleCount } from '../data/dataset.js';
import { writeOnnx } from '../formats/onnx/write.js';
import { createNodeRunner } from '../node/ort-runner.js';
import { FidelityGuard } from '../node/quantize-context.js';
import { evaluateModel } from '../train/trainer.js';
import type { PreparedData } from './data.js';
import type { CliIO } from './io.js';
import { addOptions, number, option } from './options.js';
import { outputFidelity, pct } from './training.js';

/** What --min-snr / --max-drop parse to. */
export interface FidelityFlags {
  minSnr?: number;
  maxDrop?: number;
}

/** Adds --min-snr, and --max-drop where the command's data can have labels. */
export function addFidelityOptions(cmd: Command, o: { labels: boolean }): Command {
  return addOptions(
    cmd,
    option(
      '--min-snr <dB>',
      'refuse (E_FIDELITY, exit 1, nothing written) when the output SNR against the original, on the held-back split of --data (seeded random inputs without it), is below this',
      { parse: number() },
    ),
    ...(o.labels
      ? [
          option(
            '--max-drop <points>',
            'refuse (E_FIDELITY, exit 1, nothing written) when test accuracy falls more than this many points below the original (needs labelled --data)',
            { parse: number({ min: 0 }) },
          ),
        ]
      : []),
  );
}

/** E_ARG when --max-drop is given for data without labels (or no data). */
export function checkFidelityFlags(flags: FidelityFlags, data: PreparedData | undefined, dataName: string | undefined): void {
  if (flags.maxDrop === undefined) return;
  if (!data) throw new ModelpressError('E_ARG', '--max-drop measures accuracy: it needs labelled --data');
  if (data.test.y === undefined)
    throw new ModelpressError('E_ARG', `--max-drop measures accuracy: ${dataName ?? 'the data'} has no labels (use --min-snr)`);
}

export interface Fidelity {
  /** 'random' (seeded random inputs), or the data the held-back samples come from. */
  inputs: string;
  /** Held-back samples (or random runs) measured. */
  samples: number;
  snrDb: number;
  cosine: number;
  /** The model before training (pruned, clustered, quantized or untrained student) on the same samples, when given. */
  beforeTraining?: { snrDb: number; cosine: number };
  /** With labels: test accuracy of the original and of the result, and the drop in points. */
  accuracyOriginal?: number;
  accuracyResult?: number;
  dropPoints?: number;
}

/**
 * Measures `result` (and `beforeTraining`, when given) against `original`:
 * on `data.test` when given, else on seeded random inputs for every input.
 */
export async function measureFidelity(
  original: ModelProto,
  result: ModelProto,
  data: PreparedData | undefined,
  o: { dataName?: string | undefined; beforeTraining?: ModelProto; file?: string; accuracyOriginal?: number } = {},
): Promise<Fidelity> {
  if (data) {
    const against = await outputFidelity(original, data.test);
    const r = await against(result);
    const f: Fidelity = { inputs: o.dataName ?? data.test.name, samples: sampleCount(data.test), ...r };
    if (o.beforeTraining) f.beforeTraining = await against(o.beforeTraining);
    if (data.test.y !== undefined) {
      const where = o.file === undefined ? {} : { file: o.file };
      const a0 = o.accuracyOriginal ?? (await evaluateModel(createNodeRunner, original, data.test, where)).accuracy;
      const a1 = (await evaluateModel(createNodeRunner, result, data.test)).accuracy;
      f.accuracyOriginal = a0;
      f.accuracyResult = a1;
      f.dropPoints = (a0 - a1) * 100;
    }
    return f;
  }
  // Without data: quantize's guard on its seeded random inputs (symbolic dims 1), the same figure quantize reports.
  const guard = await FidelityGuard.open(writeOnnx(original), o.file ?? 'model', undefined, {});
  guard.latency = false;
  try {
    const r = await guard.measure(writeOnnx(result));
    const f: Fidelity = { inputs: 'random', samples: r.samples, snrDb: r.snrDb, cosine: r.cosine };
    if (o.beforeTraining) {
      const b = await guard.measure(writeOnnx(o.beforeTraining));
      f.beforeTraining = { snrDb: b.snrDb, cosine: b.cosine };
    }
    return f;
  } finally {
    await guard.dispose();
  }
}

const db = (f: { snrDb: number; cosine: number }): string => `${f.snrDb.toFixed(1)} dB (cosine ${f.cosine.toFixed(4)})`;

/** The terminal line(s) of a fidelity measurement; `beforeWhat` names the model before training ('pruning alone'). */
export function fidelityLines(f: Fidelity, beforeWhat = 'before training'): string {
  const before = f.beforeTraining ? `; ${beforeWhat}: ${db(f.beforeTraining)}` : '';
  const where =
    f.inputs === 'random'
      ? `on ${f.samples} SEEDED RANDOM inputs, not on your data (give --data to measure on real inputs)`
      : `on ${f.samples} held-back examples of ${f.inputs}`;
  const acc =
    f.accuracyOriginal !== undefined
      ? `\ntest accuracy ${pct(f.accuracyOriginal)} -> ${pct(f.accuracyResult)} (${f.dropPoints! >= 0 ? '-' : '+'}${Math.abs(f.dropPoints!).toFixed(2)} points)`
      : '';
  return `output SNR against the original ${db(f)}${before}, ${where}${acc}\n`;
}

/** The JSON of a fidelity measurement (an infinite SNR, identical outputs, as null). */
export function fidelityJson(f: Fidelity): Record<string, unknown> {
  const n = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return {
    inputs: f.inputs,
    samples: f.samples,
    snrDb: n(f.snrDb),
    cosine: f.cosine,
    ...(f.beforeTraining ? { beforeTraining: { snrDb: n(f.beforeTraining.snrDb), cosine: f.beforeTraining.cosine } } : {}),
    ...(f.accuracyOriginal !== undefined
      ? { accuracyOriginal: f.accuracyOriginal, accuracyResult: f.accuracyResult, dropPoints: f.dropPoints }
      : {}),
  };
}

/**
 * Warns on stderr when the figure comes from random inputs, then E_FIDELITY
 * (nothing written: the caller writes after this) when --min-snr or
 * --max-drop is missed.
 */
export function enforceFidelity(io: CliIO, f: Fidelity, flags: FidelityFlags, file: string): void {
  if (f.inputs === 'random')
    io.stderr(
      `modelpress: warning: no --data: fidelity measured on ${f.samples} SEEDED RANDOM inputs, not on your data: output SNR ${f.snrDb.toFixed(1)} dB, cosine ${f.cosine.toFixed(4)}\n`,
    );
  const where = f.inputs === 'random' ? `${f.samples} seeded random inputs` : `${f.samples} held-back examples of ${f.inputs}`;
  if (flags.minSnr !== undefined && !(f.snrDb >= flags.minSnr))
    throw new ModelpressError(
      'E_FIDELITY',
      `output SNR ${f.snrDb.toFixed(1)} dB against the original (on ${where}) is below --min-snr ${flags.minSnr}; nothing written`,
      { file },
    );
  if (flags.maxDrop !== undefined && f.dropPoints !== undefined && !(f.dropPoints <= flags.maxDrop))
    throw new ModelpressError(
      'E_FIDELITY',
      `test accuracy fell ${f.dropPoints.toFixed(2)} points (${pct(f.accuracyOriginal)} -> ${pct(f.accuracyResult)}, on ${where}), more than --max-drop ${flags.maxDrop}; nothing written`,
      { file },
    );
}
