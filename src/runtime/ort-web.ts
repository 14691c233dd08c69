/**
 * Runner over onnxruntime-web (WebAssembly), for browsers. Models are given
 * as bytes (or a URL string the browser can fetch).
 */
import * as ort from 'onnxruntime-web';
import { createOrtRunner, type OrtModuleLike } from './ort-session.js';
import type { Runner, RunnerOptions } from './runner.js';

export function createWebRunner(model: Uint8Array | string, options?: RunnerOptions): Promise<Runner> {
  return createOrtRunner(ort as unknown as OrtModuleLike, model, options);
}
