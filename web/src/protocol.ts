/** Messages between the page (main.ts) and the compression worker (worker.ts). */
import type { InspectReport } from 'modelpress';

/** A quantization scheme id from the library's scheme table, or 'pack' for lossless .mpz packing. */
/** Value histogram of one float tensor: `counts.length` equal bins over [min, max]. */
export interface Histogram {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly counts: readonly number[];
}

/** A row of the scheme table offered for this model's format. */
export interface SchemeChoice {
  readonly id: string;
  readonly label: string;
}

/** One scheme's output size on this model (or why it does not apply). */
export interface SchemeSize {
  readonly id: string;
  readonly bytes: number | null;
  readonly error?: string;
  readonly ms: number;
}

/**
 * The model's files: one .onnx or .safetensors, or a TF.js model JSON with its shards
 * (matched to the manifest's paths by file name).
 */
export type Job =
  | { readonly kind: 'inspect'; readonly files: readonly File[] }
  | { readonly kind: 'run'; readonly files: readonly File[]; readonly scheme: string }
  | { readonly kind: 'sizes'; readonly files: readonly File[]; readonly schemes: readonly string[] };

/** An output file: its download name and bytes. */
export interface OutFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface RunSummary {
  readonly scheme: string;
  readonly format: string;
  readonly sizeBefore: number;
  readonly sizeAfter: number;
  /** Tensors changed by the scheme (quantized) or stored as tensors (pack). */
  readonly tensors: number;
  readonly skipped: number;
  readonly notes: readonly string[];
  /** Lowest per-weight reconstruction SNR in dB, when the scheme reports one. */
  readonly minWeightSnrDb: number | null;
  readonly ms: number;
}

export type Reply =
  | { readonly kind: 'progress'; readonly phase: string; readonly done: number; readonly total: number }
  | {
      readonly kind: 'inspect';
      readonly report: InspectReport;
      readonly schemes: readonly SchemeChoice[];
      readonly histograms: readonly Histogram[];
      readonly ms: number;
    }
  | { readonly kind: 'sizes'; readonly sizes: readonly SchemeSize[] }
  | { readonly kind: 'result'; readonly files: readonly OutFile[]; readonly summary: RunSummary }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };
