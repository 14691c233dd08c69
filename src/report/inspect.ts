/**
 * What `modelpress inspect --json` prints (schema modelpress.inspect/1,
 * docs/CLI.md), built from a model already read: per tensor its dtype, shape,
 * size, location, value statistics and entropy estimates; totals by dtype and
 * by location; duplicated tensors; for ONNX the graph facts. Browser-safe: the
 * model comes in as tensors (modelpress/node's loadModel gives one from files).
 */
import { findDuplicateGroups, tensorStats, type DuplicateGroup, type TensorStats } from '../core/stats.js';
import { onnxSummary, type OnnxModel, type OnnxSummary } from '../formats/onnx/index.js';
import type { TfjsModel } from '../formats/tfjs/index.js';
import { describeLocation, type FormatName, type NamedTensor, type TensorLocation } from '../formats/types.js';

/** A model as inspect reads it (node/load's LoadedModel is one). */
export interface InspectInput {
  readonly format: FormatName;
  /** Name of the main file. */
  readonly path: string;
  /** Bytes of every file of the model. */
  readonly sizeBytes: number;
  readonly files: readonly string[];
  readonly tensors: readonly NamedTensor[];
  readonly onnx?: OnnxModel | undefined;
  readonly tfjs?: TfjsModel | undefined;
  readonly safetensors?: { readonly metadata: Record<string, string> } | undefined;
}

export const INSPECT_SCHEMA = 'modelpress.inspect/1';

export interface InspectTensor extends Pick<TensorStats, 'min' | 'max' | 'mean' | 'std' | 'zeroFraction' | 'nanCount' | 'infCount'> {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Elements (strings for string tensors). */
  readonly params: number;
  /** Stored bytes as held in memory (packed for 4-bit types; UTF-8 bytes for strings). */
  readonly bytes: number;
  readonly location: TensorLocation;
  /** Human label of `location`. */
  readonly where: string;
  /** Entropy estimates in bits per parameter (definitions in docs/CLI.md). */
  readonly entropy: { readonly rawBits: number; readonly valueBits: number | null; readonly quant8Bits: number | null };
}

export interface InspectTotalsRow {
  readonly tensors: number;
  readonly params: number;
  readonly bytes: number;
}

export interface InspectReport {
  readonly schema: typeof INSPECT_SCHEMA;
  readonly format: string;
  readonly file: string;
  /** Bytes of all files of the model (main file + external data / shards). */
  readonly sizeBytes: number;
  readonly files: readonly string[];
  readonly totals: InspectTotalsRow & {
    readonly byDtype: (InspectTotalsRow & { readonly dtype: string })[];
    readonly byLocation: (InspectTotalsRow & { readonly location: string })[];
  };
  readonly tensors: InspectTensor[];
  readonly duplicates: (DuplicateGroup & { readonly copies: number })[];
  readonly onnx?: Pick<
    OnnxSummary,
    'irVersion' | 'producer' | 'opsets' | 'opHistogram' | 'nodeCount' | 'subgraphCount' | 'inputs' | 'outputs'
  >;
  readonly safetensors?: { readonly metadata: Record<string, string> };
  readonly tfjs?: {
    readonly kind: string;
    readonly generatedBy: string | null;
    readonly convertedBy: string | null;
    readonly shards: string[];
  };
}

/** The category a location is totalled under. */
export function locationCategory(loc: TensorLocation): string {
  const sub = 'graph' in loc && loc.graph ? ' (subgraph)' : '';
  switch (loc.kind) {
    case 'initializer':
      return `initializer${sub}`;
    case 'constant':
      return `Constant node${sub}`;
    case 'sparse':
      return `sparse_initializer${sub}`;
    case 'external':
      return `external data${sub}`;
    case 'safetensors':
      return 'safetensors';
    case 'tfjs':
      return loc.quantization ? `tfjs (${loc.quantization}-quantized)` : 'tfjs';
  }
}

function storedBytes(nt: NamedTensor): number {
  const t = nt.tensor;
  return t.dtype === 'string' ? (t.strings ?? []).reduce((s, b) => s + b.byteLength, 0) : t.data.byteLength;
}

function addTo<K extends string>(
  map: Map<string, InspectTotalsRow & Record<K, string>>,
  keyName: K,
  key: string,
  params: number,
  bytes: number,
): void {
  const row = map.get(key) ?? ({ [keyName]: key, tensors: 0, params: 0, bytes: 0 } as InspectTotalsRow & Record<K, string>);
  map.set(key, { ...row, tensors: row.tensors + 1, params: row.params + params, bytes: row.bytes + bytes });
}

/** Inspects a loaded model; `onTensor` is called after each tensor (for progress). */
export function buildInspectReport(model: InspectInput, onTensor?: () => void): InspectReport {
  const tensors: InspectTensor[] = [];
  const byDtype = new Map<string, InspectTotalsRow & { dtype: string }>();
  const byLocation = new Map<string, InspectTotalsRow & { location: string }>();
  let params = 0;
  let bytes = 0;
  for (const nt of model.tensors) {
    const s = tensorStats(nt.tensor);
    const b = storedBytes(nt);
    tensors.push({
      name: nt.name,
      dtype: nt.tensor.dtype,
      shape: [...nt.tensor.shape],
      params: s.count,
      bytes: b,
      location: nt.location,
      where: describeLocation(nt.location),
      min: s.min,
      max: s.max,
      mean: s.mean,
      std: s.std,
      zeroFraction: s.zeroFraction,
      nanCount: s.nanCount,
      infCount: s.infCount,
      entropy: { rawBits: s.entropyRawBits, valueBits: s.entropyValueBits, quant8Bits: s.entropy8Bits },
    });
    params += s.count;
    bytes += b;
    addTo(byDtype, 'dtype', nt.tensor.dtype, s.count, b);
    addTo(byLocation, 'location', locationCategory(nt.location), s.count, b);
    onTensor?.();
  }
  const bySize = (a: InspectTotalsRow, b: InspectTotalsRow) => b.bytes - a.bytes || b.params - a.params;
  const report: InspectReport = {
    schema: INSPECT_SCHEMA,
    format: model.format,
    file: model.path,
    sizeBytes: model.sizeBytes,
    files: [...model.files],
    totals: {
      tensors: tensors.length,
      params,
      bytes,
      byDtype: [...byDtype.values()].sort(bySize),
      byLocation: [...byLocation.values()].sort(bySize),
    },
    tensors,
    duplicates: findDuplicateGroups(model.tensors).map((g) => ({ ...g, copies: g.names.length })),
    ...(model.onnx ? { onnx: onnxFacts(model) } : {}),
    ...(model.safetensors ? { safetensors: { metadata: model.safetensors.metadata } } : {}),
    ...(model.tfjs
      ? {
          tfjs: {
            kind: model.tfjs.kind,
            generatedBy: typeof model.tfjs.modelJson.generatedBy === 'string' ? model.tfjs.modelJson.generatedBy : null,
            convertedBy: typeof model.tfjs.modelJson.convertedBy === 'string' ? model.tfjs.modelJson.convertedBy : null,
            shards: (model.tfjs.modelJson.weightsManifest ?? []).flatMap((g) => [...g.paths]),
          },
        }
      : {}),
  };
  return report;
}

function onnxFacts(model: InspectInput): NonNullable<InspectReport['onnx']> {
  const s = onnxSummary(model.onnx!);
  return {
    irVersion: s.irVersion,
    producer: s.producer,
    opsets: s.opsets,
    opHistogram: s.opHistogram,
    nodeCount: s.nodeCount,
    subgraphCount: s.subgraphCount,
    inputs: s.inputs,
    outputs: s.outputs,
  };
}
