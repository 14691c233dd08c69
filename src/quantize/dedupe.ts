/**
 * Identical initializers stored in several subgraphs (silero_vad's If
 * branches hold two copies of most of its weights) become one initializer
 * in the main graph, which every subgraph can read from its outer scope.
 * Names are unique across a model (ONNX graphs are SSA), so references are
 * renamed to the kept copy without clashes.
 */
import type { GraphProto, ModelProto, NodeProto } from 'onnx-buf';
import { subgraphsOf } from '../formats/onnx/walk.js';

interface Found {
  readonly graph: GraphProto;
  readonly path: string;
  readonly index: number;
}

function key(t: { dataType: number; dims: bigint[]; rawData: Uint8Array }): string | undefined {
  if (t.rawData.byteLength < 64) return undefined; // not worth it, and typed-field tensors are left alone
  let h = 2166136261;
  const b = t.rawData;
  const step = Math.max(1, Math.floor(b.length / 4096));
  for (let i = 0; i < b.length; i += step) h = Math.imul(h ^ b[i]!, 16777619);
  return `${t.dataType}|${t.dims.join(',')}|${b.length}|${h >>> 0}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function renameInputs(graph: GraphProto, path: string, from: ReadonlyMap<string, string>): void {
  graph.node.forEach((n: NodeProto, i) => {
    n.input = n.input.map((x) => from.get(x) ?? x);
    for (const sub of subgraphsOf(n, i, path)) renameInputs(sub.graph, sub.path, from);
  });
  for (const o of graph.output) {
    const to = from.get(o.name);
    if (to !== undefined) o.name = to; // a subgraph output naming a weight: keep the value, new name is visible
  }
}

/**
 * Merges duplicate initializers (in any graph) into one copy each, kept in
 * the main graph (in place). A main-graph input of the same name would
 * shadow nothing: initializers listed as inputs are skipped.
 * Returns how many copies were removed and their bytes.
 */
export function dedupeSubgraphInitializers(model: ModelProto): { removed: number; bytes: number } {
  const main = model.graph;
  if (!main) return { removed: 0, bytes: 0 };
  const groups = new Map<string, Found[]>();
  const visit = (graph: GraphProto, path: string) => {
    const inputs = new Set(graph.input.map((v) => v.name));
    graph.initializer.forEach((t, index) => {
      const k = inputs.has(t.name) ? undefined : key(t); // an initializer that is also an input can be overridden by a feed
      if (k) {
        let g = groups.get(k);
        if (!g) groups.set(k, (g = []));
        g.push({ graph, path, index });
      }
    });
    graph.node.forEach((n, i) => {
      for (const sub of subgraphsOf(n, i, path)) visit(sub.graph, sub.path);
    });
  };
  visit(main, '');
  const rename = new Map<string, string>();
  const remove = new Map<GraphProto, Set<number>>();
  let bytes = 0;
  for (const found of groups.values()) {
    if (found.length < 2) continue;
    // exact byte comparison within the hash group; each distinct payload keeps its first copy
    const kept: Found[] = [];
    for (const f of found) {
      const t = f.graph.initializer[f.index]!;
      const same = kept.find((k) => sameBytes(k.graph.initializer[k.index]!.rawData, t.rawData));
      if (!same) {
        kept.push(f);
        continue;
      }
      rename.set(t.name, same.graph.initializer[same.index]!.name);
      let s = remove.get(f.graph);
      if (!s) remove.set(f.graph, (s = new Set()));
      s.add(f.index);
      bytes += t.rawData.byteLength;
    }
    // every copy that others now refer to moves up to the main graph
    for (const k of kept) {
      const name = k.graph.initializer[k.index]!.name;
      if (k.graph === main) continue;
      if (![...rename.values()].includes(name)) continue;
      main.initializer.push(k.graph.initializer[k.index]!);
      let s = remove.get(k.graph);
      if (!s) remove.set(k.graph, (s = new Set()));
      s.add(k.index);
    }
  }
  if (rename.size === 0) return { removed: 0, bytes: 0 };
  for (const [graph, idx] of remove) graph.initializer = graph.initializer.filter((_, i) => !idx.has(i));
  renameInputs(main, '', rename);
  return { removed: rename.size, bytes };
}
