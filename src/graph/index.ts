/** ONNX graph helpers: builder, attributes, tensors, value info, shapes, order. */
export { GraphBuilder, makeModel, defaultOpset, type NodeOptions, type ModelOptions } from './builder.js';
export { NameGen } from './names.js';
export {
  makeAttribute,
  makeAttributes,
  findAttr,
  intAttr,
  floatAttr,
  stringAttr,
  intsAttr,
  floatsAttr,
  type Attrs,
  type AttrValue,
} from './attributes.js';
export {
  makeTensorProto,
  readTensorProtoNumbers,
  readTensorProtoFloat32,
  tensorProtoShape,
  graphDTypeFromOnnx,
  ONNX_DTYPE,
  type GraphDType,
  type TensorValues,
} from './tensor-proto.js';
export { makeValueInfo, readValueInfo, type Dim } from './value-info.js';
export { topologicalSort, nodeInputs } from './toposort.js';
export { inferShapes, broadcastDims, ShapeInfo, type TensorInfo } from './shape-inference.js';
export { cloneModel, setInitializerValues, getInitializerValues, constantsToInitializers } from './model-edit.js';
