/**
 * Runner over onnxruntime-node (native CPU). Kept out of src/runtime because
 * onnxruntime-node is a native addon that browsers cannot load. It is an
 * optional dependency of modelpress (a browser-only install omits it), so it
 * is imported on first use: commands that run no model work without it, and
 * the ones that do fail with a ModelpressError naming the package to install.
 */
import { statSync } from 'node:fs';
import { ModelpressError } from '../core/errors.js';
import { createOrtRunner, type OrtModuleLike } from '../runtime/ort-session.js';
import type { Runner, RunnerOptions } from '../runtime/runner.js';

let loading: Promise<OrtModuleLike> | undefined;

/** Imports onnxruntime-node once; E_NOT_FOUND naming the package when it is missing or its native addon does not load. */
export function loadOrtNode(): Promise<OrtModuleLike> {
  loading ??= import('onnxruntime-node').then(
    (m) => m as unknown as OrtModuleLike,
    (e: unknown) => {
      loading = undefined;
      const missing = (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
      throw new ModelpressError(
        'E_NOT_FOUND',
        missing
          ? 'onnxruntime-node is not installed; running a model needs it: npm install onnxruntime-node'
          : `onnxruntime-node did not load (${(e instanceof Error ? e.message : String(e)).split('\n')[0]}); reinstall it: npm install onnxruntime-node`,
        { cause: e },
      );
    },
  );
  return loading;
}

/**
 * Opens a model from bytes or a file path with onnxruntime-node (a path lets
 * onnxruntime resolve external-data files next to the model). Missing file → E_NOT_FOUND.
 */
export async function createNodeRunner(model: Uint8Array | string, options: RunnerOptions = {}): Promise<Runner> {
  if (typeof model === 'string') {
    assertModelFile(model);
    options = { file: model, ...options };
  }
  return createOrtRunner(await loadOrtNode(), model, options);
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
