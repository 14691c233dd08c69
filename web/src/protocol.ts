/** Messages between the page (main.ts) and the compression worker (worker.ts). */
import type { InspectReport } from 'modelpress';

/** A quantization scheme id from the library's scheme table, or 'pack' for lossless .mpz packing. */
export type Job =
  | { readonly kind: 'inspect'; readonly file: File }
  | { readonly kind: 'run'; readonly file: File; readonly scheme: string };

export interface RunSummary {
  readonly scheme: string;
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
  | { readonly kind: 'inspect'; readonly report: InspectReport; readonly ms: number }
  | { readonly kind: 'result'; readonly bytes: Uint8Array; readonly fileName: string; readonly summary: RunSummary }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };
