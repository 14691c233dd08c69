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

/** Decodes an .mpz to all of its original files (TF.js: model JSON and shards). */
export async function decodeMpzFiles(source: MpzSource): Promise<UnpackedModel> {
  if (source instanceof Uint8Array) return unpackModel(source);
  if (source instanceof ArrayBuffer) return unpackModel(new Uint8Array(source));
  return unpackStream(source);
}

/** Decodes an .mpz holding a single-file model (ONNX, safetensors) to that file's bytes. */
export async function decodeMpz(source: MpzSource): Promise<Uint8Array> {
  const model = await decodeMpzFiles(source);
  if (model.files.length !== 1)
    fail('E_UNSUPPORTED', `the .mpz holds a ${model.format} model of ${model.files.length} files; use decodeMpzFiles`);
  return model.files[0]!.bytes;
}
