/**
 * Global magnitude pruning: one threshold across all selected layers, so
 * layers with many small weights give up more of them. Exactly
 * round(sparsity x total) weights are pruned; ties break by layer, then index.
 */
import { prunedCount, resultFromMask, type PruneResult } from './mask.js';
import { checkSparsity } from './magnitude.js';

export interface GlobalPruneResult {
  readonly layers: PruneResult[];
  /** |w| of the largest pruned weight (0 when nothing is pruned). */
  readonly threshold: number;
}

export function globalMagnitudePrune(layers: readonly Float32Array[], sparsity: number): GlobalPruneResult {
  checkSparsity(sparsity);
  let total = 0;
  for (const l of layers) total += l.length;
  const abs = new Float32Array(total);
  const layerOf = new Uint32Array(total);
  const offsets: number[] = [];
  let at = 0;
  layers.forEach((l, li) => {
    offsets.push(at);
    for (let i = 0; i < l.length; i++, at++) {
      abs[at] = Math.abs(l[i]!);
      layerOf[at] = li;
    }
  });
  const k = prunedCount(total, sparsity);
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  order.sort((a, b) => abs[a]! - abs[b]! || a - b);
  const masks = layers.map((l) => new Uint8Array(l.length).fill(1));
  for (let i = 0; i < k; i++) {
    const g = order[i]!;
    const li = layerOf[g]!;
    masks[li]![g - offsets[li]!] = 0;
  }
  return { layers: layers.map((l, i) => resultFromMask(l, masks[i]!)), threshold: k > 0 ? abs[order[k - 1]!]! : 0 };
}
