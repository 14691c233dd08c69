/**
 * Runner over onnxruntime-node (native CPU). Kept out of src/runtime because
 * onnxruntime-node is a native addon that browsers cannot load.
 */
import { statSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { ModelpressError } from '../core/errors.js';
import { createOrtRunner, type OrtModuleLike } from '../runtime/ort-session.js';
import type { Runner, RunnerOptions } from '../runtime/runner.js';

/**
 * Opens a model from bytes or a file path with onnxruntime-node (a path lets
 * onnxruntime resolve external-data files next to the model). Missing file → E_NOT_FOUND.
 */
export async function createNodeRunner(model: Uint8Array | string, options: RunnerOptions = {}): Promise<Runner> {
  if (typeof model === 'string') {
    assertModelFile(model);
    options = { file: model, ...options };
  }
  return createOrtRunner(ort as unknown as OrtModuleLike, model, options);
}

function assertModelFile(path: string): void {
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch (e) {
    throw new ModelpressError('E_NOT_FOUND', 'model file does not exist', { file: path, cause: e });
  }
  if (!isFile) throw new ModelpressError('E_IO', 'model path is not a file', { file: path });
}
