/**
 * Adapts an onnxruntime module (onnxruntime-node or onnxruntime-web, which
 * share onnxruntime-common's API) to the Runner contract. The module is passed
 * in, so this file imports neither and stays browser-safe.
 */
import { isDType, type DType } from '../core/dtypes.js';
import { ModelpressError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import type { Dim, IoInfo, Runner, RunnerOptions } from './runner.js';

/** The slice of onnxruntime-common's API we use (structural, so either package fits). */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}
export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly OrtValueMetadata[];
  readonly outputMetadata?: readonly OrtValueMetadata[];
  run(feeds: Record<string, OrtTensorLike>, fetches?: readonly string[]): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}
export interface OrtValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}
export interface OrtModuleLike {
  InferenceSession: { create(model: Uint8Array | string, options?: Record<string, unknown>): Promise<OrtSessionLike> };
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => OrtTensorLike;
}

/** Creates an onnxruntime session over `model` and wraps it as a Runner. */
export async function createOrtRunner(ort: OrtModuleLike, model: Uint8Array | string, options: RunnerOptions = {}): Promise<Runner> {
  const sessionOptions: Record<string, unknown> = {
    graphOptimizationLevel: options.graphOptimization ?? 'all',
    executionMode: options.executionMode ?? 'sequential',
    // errors only: onnxruntime's warnings (constant folding it skipped, ...) are not the user's to act on, and its
    // errors reach the user inside our own messages
    logSeverityLevel: 3,
  };
  if (options.intraOpThreads !== undefined) sessionOptions.intraOpNumThreads = options.intraOpThreads;
  if (options.interOpThreads !== undefined) sessionOptions.interOpNumThreads = options.interOpThreads;
  if (options.allowSpinning === false) sessionOptions.extra = { session: { intra_op: { allow_spinning: '0' } } };
  let session: OrtSessionLike;
  try {
    session = await ort.InferenceSession.create(model, sessionOptions);
  } catch (e) {
    if (options.generated !== undefined) {
      throw new ModelpressError('E_GRAPH', `onnxruntime cannot load ${options.generated}: ${firstLine(e)}`, {
        file: options.file,
        cause: e,
      });
    }
    throw new ModelpressError('E_FORMAT', `onnxruntime cannot load the model: ${firstLine(e)}`, { file: options.file, cause: e });
  }
  return new OrtRunner(ort, session, options.file);
}

class OrtRunner implements Runner {
  readonly inputs: readonly IoInfo[];
  readonly outputs: readonly IoInfo[];

  constructor(
    private readonly ort: OrtModuleLike,
    private readonly session: OrtSessionLike,
    private readonly file: string | undefined,
  ) {
    this.inputs = describe(session.inputNames, session.inputMetadata);
    this.outputs = describe(session.outputNames, session.outputMetadata);
  }

  run(feeds: Readonly<Record<string, Tensor>>, outputNames?: readonly string[]): Promise<Record<string, Tensor>> {
    const ortFeeds: Record<string, OrtTensorLike> = {};
    for (let i = 0; i < this.inputs.length; i++) {
      const name = this.inputs[i]!.name;
      const t = feeds[name];
      if (!t) return Promise.reject(new ModelpressError('E_ARG', `no value fed for model input '${name}'`, { file: this.file }));
      ortFeeds[name] = new this.ort.Tensor(t.dtype, ortData(t), t.shape);
    }
    // A plain promise chain (no async wrapper): this sits on the hot path of every batch.
    return this.session.run(ortFeeds, outputNames).then(
      (results) => {
        const out: Record<string, Tensor> = {};
        for (const name in results) out[name] = fromOrt(name, results[name]!, this.file);
        return out;
      },
      (e: unknown) => {
        const shapes = Object.entries(feeds)
          .map(([k, t]) => `${k}: ${t.dtype}[${t.shape.join(', ')}]`)
          .join('; ');
        throw new ModelpressError('E_SHAPE', `onnxruntime failed to run the model on inputs ${shapes}: ${firstLine(e)}`, {
          file: this.file,
          cause: e,
        });
      },
    );
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function describe(names: readonly string[], metadata: readonly OrtValueMetadata[] | undefined): IoInfo[] {
  return names.map((name, i) => {
    const m = metadata?.find((x) => x.name === name) ?? metadata?.[i];
    const dtype = m?.isTensor && m.type && isDType(m.type) ? (m.type as DType) : undefined;
    const shape = m?.isTensor && m.shape ? (m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d))) as Dim[]) : undefined;
    return { name, dtype, shape };
  });
}

type ViewCtor<T> = { new (buf: ArrayBufferLike, off: number, len: number): T; BYTES_PER_ELEMENT: number };

/** A typed view of `b` (copied first when its offset is not aligned for the element size). */
function view<T>(b: Uint8Array, ctor: ViewCtor<T>): T {
  const size = ctor.BYTES_PER_ELEMENT;
  const a = b.byteOffset % size === 0 ? b : b.slice();
  return new ctor(a.buffer, a.byteOffset, a.byteLength / size);
}

/** The typed array onnxruntime expects for a tensor, sharing the bytes when aligned. */
function ortData(t: Tensor): unknown {
  const b = t.data;
  switch (t.dtype) {
    case 'float32':
      return view(b, Float32Array);
    case 'float64':
      return view(b, Float64Array);
    case 'float16':
    case 'uint16':
      return view(b, Uint16Array);
    case 'int16':
      return view(b, Int16Array);
    case 'int32':
      return view(b, Int32Array);
    case 'uint32':
      return view(b, Uint32Array);
    case 'int64':
      return view(b, BigInt64Array);
    case 'uint64':
      return view(b, BigUint64Array);
    case 'int8':
    case 'int4':
      return new Int8Array(b.buffer, b.byteOffset, b.byteLength);
    case 'uint8':
    case 'uint4':
    case 'bool':
      return b;
    case 'string':
      return (t.strings ?? []).map((s) => new TextDecoder().decode(s));
    default:
      throw new ModelpressError('E_UNSUPPORTED', `onnxruntime takes no ${t.dtype} inputs`);
  }
}

function fromOrt(name: string, value: OrtTensorLike, file: string | undefined): Tensor {
  const dtype = value.type;
  if (!isDType(dtype))
    throw new ModelpressError('E_UNSUPPORTED', `output '${name}' has type ${dtype}, which modelpress does not handle`, { file });
  const shape = [...value.dims];
  if (dtype === 'string') {
    const enc = new TextEncoder();
    return { dtype, shape, data: new Uint8Array(0), strings: (value.data as string[]).map((s) => enc.encode(s)) };
  }
  const data = value.data as ArrayBufferView;
  // onnxruntime's outputs are consistent by construction: wrap them without re-validating.
  return { dtype, shape, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.trim();
}
