/**
 * The canonical evaluation record: a stable JSON object (schema
 * 'modelpress.eval/2', camelCase keys as every modelpress JSON report) that `eval --json` prints, `compare
 * --json` lists, and the Markdown and HTML reports are rendered from.
 * Numbers are finite or null, except `snrDb`, which is the string "inf" when
 * the outputs are identical (zero error) and "-inf" when the reference is
 * all zeros but the model's output is not.
 */
import type { EnergyEstimate } from '../eval/energy.js';
import type { EvaluationResult } from '../eval/evaluate.js';
import type { FidelityStats } from '../eval/fidelity.js';
import type { LatencyStats } from '../eval/metrics.js';
import type { ModelInfo } from '../eval/model-info.js';

export const EVAL_SCHEMA = 'modelpress.eval/2';
export const COMPARE_SCHEMA = 'modelpress.compare/2';

export type SnrDb = number | 'inf' | '-inf';

export interface LatencyRecord {
  readonly batchSize: number;
  readonly runs: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly mean: number;
}

export interface OutputFidelityRecord {
  readonly output: string;
  readonly cosine: number;
  readonly snrDb: SnrDb;
  readonly maxAbsError: number;
  readonly meanAbsError: number;
  readonly top1Agreement: number | null;
  readonly identical: boolean;
}

export interface FidelityRecord extends Omit<OutputFidelityRecord, 'output'> {
  /** The reference model compared against. */
  readonly reference: string;
  /** The output the top-level figures come from (the class output, else the first). */
  readonly output: string;
  readonly outputs: readonly OutputFidelityRecord[];
}

export interface EvalRecord {
  readonly schema: typeof EVAL_SCHEMA;
  readonly model: string;
  readonly sizeBytes: number;
  readonly params: number;
  /** Reference size / model size; null without a reference. */
  readonly compressionRatio: number | null;
  readonly data: {
    readonly source: string;
    readonly samples: number;
    readonly labeled: boolean;
    readonly batchSize: number;
    readonly inputs: readonly { name: string; dtype: string; shape: readonly number[] }[];
  };
  /** Top-1 accuracy in [0, 1]; null without labels or class scores. */
  readonly accuracy: number | null;
  readonly topKAccuracy: { readonly k: number; readonly value: number } | null;
  readonly f1Macro: number | null;
  readonly f1Weighted: number | null;
  readonly precisionMacro: number | null;
  readonly recallMacro: number | null;
  readonly perClass: readonly { class: number; precision: number; recall: number; f1: number; support: number }[] | null;
  /** Rows = true class, columns = predicted class. */
  readonly confusionMatrix: readonly (readonly number[])[] | null;
  /** Latency at batch 1, milliseconds, after warm-up. */
  readonly latencyMs: LatencyRecord | null;
  /** Latency at the evaluation batch size (null when that is 1). */
  readonly latencyBatchMs: LatencyRecord | null;
  /** Samples per second of model run time over the evaluation pass. */
  readonly throughputSamplesPerS: number;
  /** Peak resident memory while the model ran; null where it cannot be measured (browsers). */
  readonly peakRssBytes: number | null;
  readonly fidelity: FidelityRecord | null;
  readonly reference: { readonly model: string; readonly sizeBytes: number; readonly params: number } | null;
  /** Estimated energy per inference (src/eval/energy.ts); absent with --no-energy. */
  readonly energy?: EnergyEstimate;
}

export interface CompareRecord {
  readonly schema: typeof COMPARE_SCHEMA;
  readonly reference: string;
  /** The reference first, then each compared model. */
  readonly models: readonly EvalRecord[];
}

export interface RecordInputs {
  readonly model: string;
  readonly info: ModelInfo;
  readonly result: EvaluationResult;
  readonly peakRssBytes?: number | undefined;
  readonly reference?: { readonly model: string; readonly info: ModelInfo } | undefined;
}

export function snrForJson(snr: number): SnrDb {
  if (snr === Infinity) return 'inf';
  if (snr === -Infinity) return '-inf';
  return snr;
}

/** Renders SNR for people: 'inf' / '-inf' / '23.4 dB'. */
export function formatSnr(snr: SnrDb | null): string {
  if (snr === null) return '-';
  return typeof snr === 'string' ? snr : `${snr.toFixed(1)} dB`;
}

function latencyRecord(stats: LatencyStats | undefined, batchSize: number): LatencyRecord | null {
  if (!stats) return null;
  return { batchSize: batchSize, runs: stats.runs, p50: stats.p50, p95: stats.p95, p99: stats.p99, mean: stats.mean };
}

function outputFidelity(f: FidelityStats): OutputFidelityRecord {
  return {
    output: f.name,
    cosine: f.cosine,
    snrDb: snrForJson(f.snrDb),
    maxAbsError: f.maxAbsError,
    meanAbsError: f.meanAbsError,
    top1Agreement: f.top1Agreement ?? null,
    identical: f.identical,
  };
}

export function buildEvalRecord(inputs: RecordInputs): EvalRecord {
  const { result, info, reference } = inputs;
  const report = result.classification?.report;
  let fidelity: FidelityRecord | null = null;
  if (result.fidelity && reference) {
    const outputs = result.fidelity.map(outputFidelity);
    const primaryName = result.classification?.output ?? outputs[0]?.output;
    const primary = outputs.find((o) => o.output === primaryName) ?? outputs[0];
    if (primary) fidelity = { reference: reference.model, ...primary, outputs };
  }
  return {
    schema: EVAL_SCHEMA,
    model: inputs.model,
    sizeBytes: info.sizeBytes,
    params: info.params,
    compressionRatio: reference && info.sizeBytes > 0 ? reference.info.sizeBytes / info.sizeBytes : null,
    data: {
      source: result.source,
      samples: result.samples,
      labeled: report !== undefined,
      batchSize: result.batchSize,
      inputs: result.inputs.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.shape })),
    },
    accuracy: report?.accuracy ?? null,
    topKAccuracy: result.classification?.topK ? { k: result.classification.topK.k, value: result.classification.topK.accuracy } : null,
    f1Macro: report?.f1Macro ?? null,
    f1Weighted: report?.f1Weighted ?? null,
    precisionMacro: report?.precisionMacro ?? null,
    recallMacro: report?.recallMacro ?? null,
    perClass: report
      ? report.perClass.map((c) => ({ class: c.class, precision: c.precision, recall: c.recall, f1: c.f1, support: c.support }))
      : null,
    confusionMatrix: result.classification?.confusion ?? null,
    latencyMs: latencyRecord(result.latency, 1),
    latencyBatchMs: result.latencyBatch ? latencyRecord(result.latencyBatch, result.latencyBatch.batchSize) : null,
    throughputSamplesPerS: result.throughput,
    peakRssBytes: inputs.peakRssBytes ?? null,
    fidelity,
    reference: reference ? { model: reference.model, sizeBytes: reference.info.sizeBytes, params: reference.info.params } : null,
  };
}
