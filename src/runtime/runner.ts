/**
 * The execution contract every part of modelpress runs models through.
 * Every use goes through it: inference, calibration, teacher logits and
 * training steps (whose weights are fed as Tensors viewing the optimizer's
 * live Float32Arrays, see ./tensors.ts). Implemented over onnxruntime (node:
 * src/node/ort-runner.ts, browser: ./ort-web.ts); both share the adapter in
 * ./ort-session.ts, the one place session options and load errors are
 * decided. Tensors cross the boundary as modelpress Tensors (raw
 * little-endian bytes), viewed without copies where alignment allows.
 */
import type { DType } from '../core/dtypes.js';
import type { Tensor } from '../core/tensor.js';

/** A dimension: a fixed size, or the name of a symbolic (free) dimension such as 'batch'. */
export type Dim = number | string;

/** One graph input or output as the runtime reports it. */
export interface IoInfo {
  readonly name: string;
  /** Element type; undefined for non-tensor values (sequences, maps). */
  readonly dtype: DType | undefined;
  /** Declared shape; symbolic dims are strings; undefined when the model declares no shape. */
  readonly shape: readonly Dim[] | undefined;
}

export interface RunnerOptions {
  /** Threads used inside one operator; default: the runtime's choice (all cores). */
  intraOpThreads?: number;
  /** Threads used across independent operators (only with executionMode 'parallel'); default: the runtime's choice. */
  interOpThreads?: number;
  /** Graph optimization level applied at load; default 'all'. */
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Operator scheduling; default 'sequential'. */
  executionMode?: 'sequential' | 'parallel';
  /**
   * Let idle intra-op threads spin between runs; default true (onnxruntime's
   * own default). Spinning is what makes back-to-back inference fast on a
   * quiet machine (bench/eval: without it our batch-1 eval ran at half the
   * bare loop's speed), but on a busy machine (CI, shared cores) it made
   * training steps 3x slower, measured: training-side sessions take
   * TRAINING_RUNNER_OPTIONS.
   */
  allowSpinning?: boolean;
  /**
   * Set when the model is a graph modelpress generated (a training graph, a
   * probe): a load failure is then E_GRAPH naming it (a bug in the generator),
   * not E_FORMAT (a model the user gave that onnxruntime rejects).
   */
  generated?: string;
  /** Names the model in error messages (a path, for instance). */
  file?: string;
}

/** Session options of every training-side session (steps, validation, teacher logits, probes): no spinning. */
export const TRAINING_RUNNER_OPTIONS: Readonly<RunnerOptions> = Object.freeze({ allowSpinning: false });

export interface Runner {
  readonly inputs: readonly IoInfo[];
  readonly outputs: readonly IoInfo[];
  /**
   * Runs the model once. `feeds` must hold every input; returns the requested
   * outputs (default: all), keyed by name.
   */
  run(feeds: Readonly<Record<string, Tensor>>, outputNames?: readonly string[]): Promise<Record<string, Tensor>>;
  /** Releases the native session. The runner must not be used afterwards. */
  dispose(): Promise<void>;
}

/** Opens a model given as bytes (or, where the platform has files, a path). */
export type RunnerFactory = (model: Uint8Array | string, options?: RunnerOptions) => Promise<Runner>;

/** Renders a shape for messages: [batch, 3, 224, 224]. */
export function formatShape(shape: readonly Dim[] | undefined): string {
  return shape === undefined ? '[?]' : `[${shape.join(', ')}]`;
}
