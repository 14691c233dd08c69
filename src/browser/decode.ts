/**
 * Browser entry point: turns a fetched .mpz into model bytes for
 * onnxruntime-web, with no Node APIs. Streams when given a ReadableStream
 * (e.g. `(await fetch(url)).body`), so the .mpz is never held whole.
 *
 *   const model = await decodeMpz((await fetch('model.mpz')).body!);
 *   const session = await ort.InferenceSession.create(model);
 */
import { fail } from '../core/errors.js';
import type { UnpackedModel } from '../codec/container/assemble.js';
import { unpackModel } from '../codec/container/reader.js';
import { unpackStream } from '../codec/container/stream.js';

export type MpzSource = Uint8Array | ArrayBuffer | ReadableStream<Uint8Array>;

/** Random access to one tensor through HTTP Range requests (or any range reader). */
export { openMpzRanged, type RangeReader, type RangedMpz } from '../codec/container/ranged.js';

/** Decoding limits: `maxOutput` caps the decoded bytes (default 256x the .mpz + 64 MiB); larger claims fail with E_LIMIT. */
export interface DecodeOptions {
  readonly maxOutput?: number;
}

/** Decodes an .mpz to all of its original files (TF.js: model JSON and shards). */
export async function decodeMpzFiles(source: MpzSource, opts: DecodeOptions = {}): Promise<UnpackedModel> {
  if (source instanceof Uint8Array) return unpackModel(source, opts);
  if (source instanceof ArrayBuffer) return unpackModel(new Uint8Array(source), opts);
  return unpackStream(source, opts);
}

/** Decodes an .mpz holding a single-file model (ONNX, safetensors) to that file's bytes. */
export async function decodeMpz(source: MpzSource, opts: DecodeOptions = {}): Promise<Uint8Array> {
  const model = await decodeMpzFiles(source, opts);
  if (model.files.length !== 1)
    fail('E_UNSUPPORTED', `the .mpz holds a ${model.format} model of ${model.files.length} files; use decodeMpzFiles`);
  return model.files[0]!.bytes;
}
