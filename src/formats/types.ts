/**
 * The contract every format reader shares, so that inspect, convert, the
 * quantizers and the container can treat ONNX, safetensors and TF.js alike.
 */
import type { Tensor } from '../core/tensor.js';

export type FormatName = 'onnx' | 'safetensors' | 'tfjs';

/** Where a tensor lives in its file; `graph` is the subgraph path ('' = main graph, e.g. 'If_0/then_branch'). */
export type TensorLocation =
  | { readonly kind: 'initializer'; readonly graph: string }
  | { readonly kind: 'constant'; readonly graph: string; readonly node: string; readonly attribute: string }
  | { readonly kind: 'sparse'; readonly graph: string }
  | { readonly kind: 'external'; readonly graph: string; readonly file: string; readonly offset: number; readonly length: number }
  | { readonly kind: 'safetensors'; readonly offset: number; readonly length: number }
  | { readonly kind: 'tfjs'; readonly group: number; readonly shards: readonly string[]; readonly quantization?: string };

export interface NamedTensor {
  readonly name: string;
  readonly tensor: Tensor;
  readonly location: TensorLocation;
}

/** Short human label for a location, as inspect prints it. */
export function describeLocation(loc: TensorLocation): string {
  switch (loc.kind) {
    case 'initializer':
      return loc.graph ? `subgraph ${loc.graph}` : 'initializer';
    case 'constant':
      return loc.graph ? `Constant ${loc.node} in ${loc.graph}` : `Constant ${loc.node}`;
    case 'sparse':
      return loc.graph ? `sparse in ${loc.graph}` : 'sparse_initializer';
    case 'external':
      return `external ${loc.file}@${loc.offset}`;
    case 'safetensors':
      return `safetensors@${loc.offset}`;
    case 'tfjs':
      return `tfjs group ${loc.group}${loc.quantization ? ` (${loc.quantization})` : ''}`;
  }
}
