/**
 * Moves the tensors of a graph's Constant nodes into its initializer list.
 * onnxruntime treats both the same, but a Constant costs a node around its
 * tensor (node name, output, attribute wrapper): on exports that keep every
 * weight in Constant nodes (the PP-OCR models) that is kilobytes of file.
 */
import type { GraphProto, NodeProto } from 'onnx-buf';
import { isConstantNode } from '../formats/onnx/list.js';

/**
 * Hoists every Constant node of `graph` (not its subgraphs) whose value is a
 * dense tensor (`value` attribute) into `graph.initializer`, keeping the
 * output name. Constants that are graph outputs stay nodes. Models with IR
 * version < 4 must list initializers among the graph inputs, so callers
 * should not hoist there. Returns how many nodes were hoisted.
 */
export function hoistConstants(graph: GraphProto): number {
  const outputs = new Set(graph.output.map((o) => o.name));
  const kept: NodeProto[] = [];
  let hoisted = 0;
  for (const node of graph.node) {
    const name = node.output[0];
    const value = node.attribute.length === 1 && node.attribute[0]!.name === 'value' ? node.attribute[0]!.t : undefined;
    if (isConstantNode(node) && name && value && !outputs.has(name)) {
      value.name = name;
      graph.initializer.push(value);
      hoisted++;
    } else kept.push(node);
  }
  graph.node = kept;
  return hoisted;
}
