/**
 * Short names for everything inside a model: exporters name each tensor
 * after its layer ("batch_norm_28.tmp_3", "p2o.Add.73") and every name is
 * stored once per reference, so on a small model the names alone can be a
 * tenth of an int8 file. onnxruntime needs none of them except the graph's
 * inputs and outputs, which keep theirs.
 */
import type { GraphProto, ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { walkGraph } from '../formats/onnx/walk.js';

export interface CompactNamesResult {
  /** Tensor names replaced. */
  readonly tensors: number;
  /** Node names cleared. */
  readonly nodes: number;
}

/**
 * Renames, in place, every tensor of the main graph and its subgraphs (If /
 * Loop / Scan bodies, which may read outer names) to a short base-36 name,
 * one consistent map for the whole model, and clears node names and doc
 * strings. The main graph's inputs and outputs keep their names. Models with
 * training info (which names tensors of the main graph) are refused; local
 * functions are left alone (their names are private to them).
 */
export function compactNames(model: ModelProto, file?: string): CompactNamesResult {
  const main = model.graph;
  if (!main) return { tensors: 0, nodes: 0 };
  if (model.trainingInfo.length > 0) {
    throw new ModelpressError(
      'E_UNSUPPORTED',
      'cannot compact names of a model with training_info (its algorithms refer to tensors by name)',
      file === undefined ? {} : { file },
    );
  }
  const kept = new Set([...main.input, ...main.output].map((v) => v.name));
  const map = new Map<string, string>();
  let counter = 0;
  const rename = (name: string): string => {
    if (name === '' || kept.has(name)) return name;
    let short = map.get(name);
    if (short === undefined) {
      do short = (counter++).toString(36);
      while (kept.has(short));
      map.set(name, short);
    }
    return short;
  };
  let nodes = 0;
  walkGraph(main, '', ({ graph }) => {
    renameGraph(graph, rename);
    for (const n of graph.node) {
      if (n.name !== '') nodes++;
      n.name = '';
      n.docString = '';
    }
  });
  return { tensors: map.size, nodes };
}

function renameGraph(g: GraphProto, rename: (name: string) => string): void {
  for (const t of g.initializer) t.name = rename(t.name);
  for (const s of g.sparseInitializer) {
    if (s.values) s.values.name = rename(s.values.name);
    if (s.indices?.name) s.indices.name = rename(s.indices.name);
  }
  for (const n of g.node) {
    n.input = n.input.map(rename);
    n.output = n.output.map(rename);
  }
  for (const v of g.valueInfo) v.name = rename(v.name);
  // a subgraph's formal inputs and outputs are its own tensors; the main graph's are kept by `rename`
  for (const v of g.input) v.name = rename(v.name);
  for (const v of g.output) v.name = rename(v.name);
  for (const a of g.quantizationAnnotation) a.tensorName = rename(a.tensorName);
}
