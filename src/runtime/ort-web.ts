/**
 * Runner over onnxruntime-web (WebAssembly), for browsers. Models are given
 * as bytes (or a URL string the browser can fetch). onnxruntime-web is an
 * optional peer dependency of modelpress: it is imported on first use, and a
 * missing package is a ModelpressError naming it, not a failed page load.
 */
import { ModelpressError } from '../core/errors.js';
import { createOrtRunner, type OrtModuleLike } from './ort-session.js';
import type { Runner, RunnerOptions } from './runner.js';

let loading: Promise<OrtModuleLike> | undefined;

/** Imports onnxruntime-web once; E_NOT_FOUND naming the package when it is not installed. */
export function loadOrtWeb(): Promise<OrtModuleLike> {
  loading ??= import('onnxruntime-web').then(
    (m) => m as unknown as OrtModuleLike,
    (e: unknown) => {
      loading = undefined;
      throw new ModelpressError(
        'E_NOT_FOUND',
        `onnxruntime-web could not be loaded (${firstLine(e)}); running models in the browser needs it: npm install onnxruntime-web`,
        { cause: e },
      );
    },
  );
  return loading;
}

export async function createWebRunner(model: Uint8Array | string, options?: RunnerOptions): Promise<Runner> {
  return createOrtRunner(await loadOrtWeb(), model, options);
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}
