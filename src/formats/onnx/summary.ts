/**
 * The model-level facts `inspect` prints for ONNX: IR version, producer,
 * opsets, op-type histogram (subgraphs included) and graph inputs/outputs
 * with dtypes and shapes (symbolic dimensions as their names).
 */
import type { ModelProto, TypeProto, ValueInfoProto } from 'onnx-buf';
import { dtypeFromOnnx } from '../../core/dtypes.js';
import type { OnnxModel } from './read.js';
import { walkGraph } from './walk.js';

export interface OnnxValueSummary {
  readonly name: string;
  /** dtype name ('float32', ...), 'sequence<float32>', 'map<int64,float32>', 'optional<...>', 'sparse<float32>', or '?' when the type is not stated. */
  readonly dtype: string;
  /** Dimensions: numbers, symbolic names, or '?' for a dimension with neither. Empty for scalars and for unknown rank (see `rankKnown`). */
  readonly shape: (number | string)[];
  /** False when the model gives no shape (so `shape: []` does not mean scalar). */
  readonly rankKnown: boolean;
}

export interface OnnxSummary {
  readonly irVersion: number;
  /** producer_name and producer_version joined by a space ('pytorch 2.1.0'), '' when absent. */
  readonly producer: string;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly modelVersion: number;
  readonly domain: string;
  readonly graphName: string;
  /** Opset imports; domain '' is the default ONNX domain ('ai.onnx'). */
  readonly opsets: { domain: string; version: number }[];
  /** Node count per op type over the main graph and every subgraph; ops of non-default domains are keyed 'domain::OpType'. */
  readonly opHistogram: Record<string, number>;
  /** Nodes over the main graph and every subgraph. */
  readonly nodeCount: number;
  /** Number of subgraphs (If/Loop/Scan bodies and other graph attributes, recursively). */
  readonly subgraphCount: number;
  /** Graph inputs; for IR version < 4, inputs that are initializers (weights listed as inputs) are left out. */
  readonly inputs: OnnxValueSummary[];
  readonly outputs: OnnxValueSummary[];
  /** Names of the model's local functions ('domain::name'). */
  readonly functions: string[];
  readonly metadata: Record<string, string>;
}

function typeName(t: TypeProto | undefined): string {
  const v = t?.value;
  switch (v?.case) {
    case 'tensorType':
      return dtypeFromOnnx(v.value.elemType) ?? `onnx_type_${v.value.elemType}`;
    case 'sparseTensorType':
      return `sparse<${dtypeFromOnnx(v.value.elemType) ?? `onnx_type_${v.value.elemType}`}>`;
    case 'sequenceType':
      return `sequence<${typeName(v.value.elemType)}>`;
    case 'optionalType':
      return `optional<${typeName(v.value.elemType)}>`;
    case 'mapType':
      return `map<${dtypeFromOnnx(v.value.keyType) ?? v.value.keyType},${typeName(v.value.valueType)}>`;
    default:
      return '?';
  }
}

function valueSummary(vi: ValueInfoProto): OnnxValueSummary {
  const v = vi.type?.value;
  const shapeProto = v && (v.case === 'tensorType' || v.case === 'sparseTensorType') ? v.value.shape : undefined;
  const shape = (shapeProto?.dim ?? []).map((d): number | string => {
    if (d.value.case === 'dimValue') return Number(d.value.value);
    if (d.value.case === 'dimParam') return d.value.value;
    return '?';
  });
  return { name: vi.name, dtype: typeName(vi.type), shape, rankKnown: shapeProto !== undefined };
}

export function onnxSummary(model: OnnxModel | ModelProto): OnnxSummary {
  const proto = 'proto' in model ? model.proto : model;
  const graph = proto.graph;
  const opHistogram: Record<string, number> = {};
  let nodeCount = 0;
  let subgraphCount = -1;
  if (graph) {
    walkGraph(graph, '', ({ graph: g }) => {
      subgraphCount++;
      for (const n of g.node) {
        const key = n.domain === '' || n.domain === 'ai.onnx' ? n.opType : `${n.domain}::${n.opType}`;
        opHistogram[key] = (opHistogram[key] ?? 0) + 1;
        nodeCount++;
      }
    });
  }
  const irVersion = Number(proto.irVersion);
  const initializerNames = new Set(graph?.initializer.map((t) => t.name) ?? []);
  const inputs = (graph?.input ?? []).filter((vi) => irVersion >= 4 || !initializerNames.has(vi.name)).map(valueSummary);
  const metadata: Record<string, string> = {};
  for (const { key, value } of proto.metadataProps) metadata[key] = value;
  return {
    irVersion,
    producer: [proto.producerName, proto.producerVersion].filter(Boolean).join(' '),
    producerName: proto.producerName,
    producerVersion: proto.producerVersion,
    modelVersion: Number(proto.modelVersion),
    domain: proto.domain,
    graphName: graph?.name ?? '',
    opsets: proto.opsetImport.map((o) => ({ domain: o.domain, version: Number(o.version) })),
    opHistogram,
    nodeCount,
    subgraphCount: Math.max(0, subgraphCount),
    inputs,
    outputs: (graph?.output ?? []).map(valueSummary),
    functions: proto.functions.map((f) => (f.domain ? `${f.domain}::${f.name}` : f.name)),
    metadata,
  };
}
