/**
 * onnxruntime-web, configured for this site: the wasm runtime files are served
 * next to the page under ort/ (see vite.config.ts), one thread (a static host
 * gives no cross-origin isolation, so no SharedArrayBuffer).
 */
import { loadOrtWeb } from 'modelpress/browser';

interface OrtEnv {
  env: { wasm: { wasmPaths?: string; numThreads?: number; proxy?: boolean } };
}

let ready: Promise<void> | undefined;

export function configureOrt(base: string): Promise<void> {
  ready ??= loadOrtWeb().then((ort) => {
    const env = (ort as unknown as OrtEnv).env;
    env.wasm.wasmPaths = new URL('ort/', base).href;
    env.wasm.numThreads = 1;
    env.wasm.proxy = false;
  });
  return ready;
}
