/**
 * `modelpress/browser`: what a web page needs beyond the core: the .mpz
 * decoder (bytes, ArrayBuffer or a fetch stream; HTTP Range access to single
 * tensors) and a Runner over onnxruntime-web, an optional peer dependency
 * imported on first use (install it next to modelpress to run models).
 */
export type { DecodeOptions, MpzSource, RangeReader, RangedMpz } from './decode.js';
export { decodeMpz, decodeMpzFiles, openMpzRanged } from './decode.js';
export { createWebRunner, loadOrtWeb } from '../runtime/ort-web.js';
export type { Runner, RunnerOptions } from '../runtime/runner.js';
