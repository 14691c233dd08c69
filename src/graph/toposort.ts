/** Topological order of graph nodes (Kahn's algorithm, stable w.r.t. the given order). */
import type { GraphProto, NodeProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';

/**
 * The nodes of `graph` ordered so every node comes after the producers of its
 * inputs. Tensors not produced by a node (graph inputs, initializers, names
 * from an outer scope) count as available. Throws E_GRAPH on a cycle or a
 * tensor produced twice.
 */
export function topologicalSort(graph: GraphProto): NodeProto[] {
  const producer = new Map<string, number>();
  graph.node.forEach((n, i) => {
    for (const o of n.output) {
      if (o === '') continue;
      if (producer.has(o))
        throw new ModelpressError(
          'E_GRAPH',
          `tensor ${o} is produced by two nodes (${graph.node[producer.get(o)!]!.name || '?'} and ${n.name || '?'})`,
        );
      producer.set(o, i);
    }
  });
  const deps: number[][] = graph.node.map(() => []);
  const pending = new Int32Array(graph.node.length);
  graph.node.forEach((n, i) => {
    const seen = new Set<number>();
    for (const inp of nodeInputs(n)) {
      const p = producer.get(inp);
      if (p === undefined || p === i || seen.has(p)) {
        if (p === i) throw new ModelpressError('E_GRAPH', `node ${n.name || n.opType} consumes its own output ${inp}`);
        continue;
      }
      seen.add(p);
      deps[p]!.push(i);
      pending[i]!++;
    }
  });
  // Min-heap would be exact; a sorted ready list is enough for graphs of a few thousand nodes.
  const ready: number[] = [];
  pending.forEach((c, i) => {
    if (c === 0) ready.push(i);
  });
  const order: NodeProto[] = [];
  let head = 0;
  while (head < ready.length) {
    const i = ready[head++]!;
    order.push(graph.node[i]!);
    for (const j of deps[i]!) if (--pending[j]! === 0) ready.push(j);
  }
  if (order.length !== graph.node.length) {
    const stuck = graph.node
      .filter((_, i) => pending[i]! > 0)
      .slice(0, 3)
      .map((n) => n.name || n.opType);
    throw new ModelpressError('E_GRAPH', `graph has a cycle through node(s) ${stuck.join(', ')}`);
  }
  return order;
}

/** Input names a node reads, including names used inside its subgraphs (outer-scope captures). */
export function nodeInputs(n: NodeProto): string[] {
  const out = n.input.filter((s) => s !== '');
  for (const a of n.attribute) {
    for (const g of [...(a.g ? [a.g] : []), ...a.graphs]) {
      const local = new Set<string>([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name)]);
      for (const sn of g.node) for (const o of sn.output) local.add(o);
      for (const sn of g.node) for (const i of nodeInputs(sn)) if (!local.has(i)) out.push(i);
    }
  }
  return out;
}
