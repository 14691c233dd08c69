/**
 * Walks every graph of a model (main graph, If/Loop/Scan bodies and any other
 * GRAPH/GRAPHS attribute recursively, functions, training graphs) and every
 * place a tensor payload can sit. The order is fixed by the proto's structure
 * alone, never by payload contents, so a skeleton walks like its original.
 */
import type { AttributeProto, GraphProto, ModelProto, NodeProto, SparseTensorProto, TensorProto } from 'onnx-buf';

/** A graph and its readable path: '' for the main graph, 'If_0/then_branch', 'Loop_3/body/If_1/else_branch', 'functions/MyFn', 'training_info[0]/algorithm'. */
export interface GraphVisit {
  readonly graph: GraphProto;
  readonly path: string;
}

/** How a node is named in paths: its name, or `<op_type>_<index in its graph>` when unnamed. */
export function nodeLabel(node: NodeProto, index: number): string {
  return node.name || `${node.opType}_${index}`;
}

function join(prefix: string, part: string): string {
  return prefix ? `${prefix}/${part}` : part;
}

/** The subgraphs held by a node's attributes, with their paths. */
export function subgraphsOf(node: NodeProto, index: number, prefix: string): GraphVisit[] {
  const out: GraphVisit[] = [];
  const base = join(prefix, nodeLabel(node, index));
  for (const a of node.attribute) {
    if (a.g) out.push({ graph: a.g, path: `${base}/${a.name}` });
    a.graphs.forEach((g, i) => out.push({ graph: g, path: `${base}/${a.name}[${i}]` }));
  }
  return out;
}

/** Depth-first, parent before children: `graph` itself, then every subgraph of its nodes. */
export function walkGraph(graph: GraphProto, path: string, visit: (v: GraphVisit) => void): void {
  visit({ graph, path });
  graph.node.forEach((node, i) => {
    for (const sub of subgraphsOf(node, i, path)) walkGraph(sub.graph, sub.path, visit);
  });
}

/** A node list that is not a graph: a FunctionProto body. */
export interface FunctionVisit {
  readonly nodes: NodeProto[];
  readonly path: string;
}

/**
 * Every node list of the model in a fixed order: the main graph and its
 * subgraphs, then functions (and their subgraphs), then training graphs.
 * Graph visits carry the GraphProto; function bodies carry only nodes.
 */
export function walkModel(model: ModelProto, visitGraph: (v: GraphVisit) => void, visitFunction?: (v: FunctionVisit) => void): void {
  if (model.graph) walkGraph(model.graph, '', visitGraph);
  for (const fn of model.functions) {
    const path = `functions/${fn.domain ? `${fn.domain}.` : ''}${fn.name}`;
    visitFunction?.({ nodes: fn.node, path });
    fn.node.forEach((node, i) => {
      for (const sub of subgraphsOf(node, i, path)) walkGraph(sub.graph, sub.path, visitGraph);
    });
  }
  model.trainingInfo.forEach((ti, i) => {
    if (ti.initialization) walkGraph(ti.initialization, `training_info[${i}]/initialization`, visitGraph);
    if (ti.algorithm) walkGraph(ti.algorithm, `training_info[${i}]/algorithm`, visitGraph);
  });
}

/** Where a TensorProto sits, precisely enough to replace it. */
export type TensorSlot =
  | {
      readonly kind: 'initializer';
      readonly path: string;
      readonly graph: GraphProto;
      readonly index: number;
      readonly tensor: TensorProto;
    }
  | {
      readonly kind: 'sparse_initializer';
      readonly path: string;
      readonly graph: GraphProto;
      readonly index: number;
      readonly sparse: SparseTensorProto;
    }
  | {
      readonly kind: 'attribute';
      readonly path: string;
      readonly node: NodeProto;
      readonly nodeLabel: string;
      readonly attribute: AttributeProto;
      /** Index in `attribute.tensors`, or -1 for `attribute.t`. */
      readonly index: number;
      readonly tensor: TensorProto;
    }
  | {
      readonly kind: 'sparse_attribute';
      readonly path: string;
      readonly node: NodeProto;
      readonly nodeLabel: string;
      readonly attribute: AttributeProto;
      /** Index in `attribute.sparse_tensors`, or -1 for `attribute.sparse_tensor`. */
      readonly index: number;
      readonly sparse: SparseTensorProto;
    };

function nodeSlots(nodes: NodeProto[], path: string, out: TensorSlot[]): void {
  nodes.forEach((node, ni) => {
    const label = nodeLabel(node, ni);
    for (const a of node.attribute) {
      if (a.t) out.push({ kind: 'attribute', path, node, nodeLabel: label, attribute: a, index: -1, tensor: a.t });
      a.tensors.forEach((t, i) => out.push({ kind: 'attribute', path, node, nodeLabel: label, attribute: a, index: i, tensor: t }));
      if (a.sparseTensor)
        out.push({ kind: 'sparse_attribute', path, node, nodeLabel: label, attribute: a, index: -1, sparse: a.sparseTensor });
      a.sparseTensors.forEach((s, i) =>
        out.push({ kind: 'sparse_attribute', path, node, nodeLabel: label, attribute: a, index: i, sparse: s }),
      );
    }
  });
}

/** Every TensorProto / SparseTensorProto slot in the model, in walk order. */
export function tensorSlots(model: ModelProto): TensorSlot[] {
  const out: TensorSlot[] = [];
  walkModel(
    model,
    ({ graph, path }) => {
      graph.initializer.forEach((tensor, index) => out.push({ kind: 'initializer', path, graph, index, tensor }));
      graph.sparseInitializer.forEach((sparse, index) => out.push({ kind: 'sparse_initializer', path, graph, index, sparse }));
      nodeSlots(graph.node, path, out);
    },
    ({ nodes, path }) => nodeSlots(nodes, path, out),
  );
  return out;
}

/** Every TensorProto in the model, sparse ones expanded to values then indices, in walk order. */
export function allTensorProtos(model: ModelProto): { tensor: TensorProto; slot: TensorSlot; part?: 'values' | 'indices' }[] {
  const out: { tensor: TensorProto; slot: TensorSlot; part?: 'values' | 'indices' }[] = [];
  for (const slot of tensorSlots(model)) {
    if (slot.kind === 'initializer' || slot.kind === 'attribute') out.push({ tensor: slot.tensor, slot });
    else {
      if (slot.sparse.values) out.push({ tensor: slot.sparse.values, slot, part: 'values' });
      if (slot.sparse.indices) out.push({ tensor: slot.sparse.indices, slot, part: 'indices' });
    }
  }
  return out;
}

/** Human description of a slot for error messages. */
export function describeSlot(slot: TensorSlot, part?: 'values' | 'indices'): string {
  const inGraph = slot.path ? ` in ${slot.path}` : '';
  switch (slot.kind) {
    case 'initializer':
      return `initializer${inGraph}`;
    case 'sparse_initializer':
      return `sparse_initializer${part ? ` ${part}` : ''}${inGraph}`;
    case 'attribute':
    case 'sparse_attribute':
      return `${slot.node.opType} node '${slot.nodeLabel}' attribute ${slot.attribute.name}${slot.index >= 0 ? `[${slot.index}]` : ''}${part ? ` ${part}` : ''}${inGraph}`;
  }
}
