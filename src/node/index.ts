/**
 * `modelpress/node`: files and onnxruntime-node. Reads and writes models on
 * disk with everything they consist of (ONNX external data, TF.js shards),
 * packs and unpacks .mpz files, loads datasets, inspects a model file as
 * `modelpress inspect` does, and opens models in onnxruntime-node (an
 * optional dependency, imported on first use). Writes are atomic.
 */
import { buildInspectReport, type InspectReport } from '../report/inspect.js';
import { loadModel, type LoadModelOptions } from './load.js';

export type { LoadedModel, LoadModelOptions, SaveResult } from './load.js';
export { loadModel, saveModel, formatFromExtension } from './load.js';
export type { OpenInputOptions } from './open.js';
export type { WriteOnnxFileOptions } from './onnx-external.js';
export { readOnnxFile, writeOnnxFile } from './onnx-external.js';
export { readSafetensorsFile, writeSafetensorsFile } from './safetensors-file.js';
export { readTfjsFile, writeTfjsFiles } from './tfjs-files.js';
export { loadModelFiles, writeUnpacked } from './pack-files.js';
export { writeFileAtomic, writeFilesAtomic } from './fs.js';
export type { DataSpecOptions, DatasetSplit, LoadImageDatasetOptions } from './datasets.js';
export { loadDataSpec, loadFashionMnist, loadMnist, FASHION_MNIST_SYSTEM_DIR } from './datasets.js';
export { createNodeRunner, loadOrtNode } from './ort-runner.js';

/** What `modelpress inspect <path> --json` prints (schema modelpress.inspect/1), as an object. */
export function inspectModel(path: string, opts: LoadModelOptions = {}): InspectReport {
  return buildInspectReport(loadModel(path, opts));
}
