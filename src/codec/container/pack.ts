/**
 * packModel: original model files -> .mpz bytes. The model is split into a
 * skeleton and tensor payloads (a format's ByteLayout from formats/, made
 * into slots by layout.ts), identical payloads are stored
 * once, each other payload gets its smallest candidate pipeline
 * (encode-tensor.ts), and the restore is verified before anything is written.
 */
import { dtypeToOnnx, elementCount, type DType } from '../../core/dtypes.js';
import { ModelpressError, fail } from '../../core/errors.js';
import { encodeBytes } from '../bytecoder.js';
import { encodeLz } from '../lz.js';
import { crc32c } from '../checksum.js';
import { CODER, CODER_NAMES } from './coders.js';
import { CHUNK_BYTES, HEADER_BYTES, MAX_CHUNK_BYTES, MAX_GENERIC_BYTES, TRAILER_BYTES, writeHeader, writeTrailer } from './format.js';
import {
  encodeIndexSection,
  genericWork,
  writeIndex,
  type ChunkRef,
  type Encoding,
  type StreamDesc,
  type TensorEntry,
} from './index-codec.js';
import { onnxByteLayout } from '../../formats/onnx/layout.js';
import { safetensorsByteLayout } from '../../formats/safetensors.js';
import { tfjsByteLayout } from '../../formats/tfjs/layout.js';
import { MIN_SLOT_BYTES, sourceLayout, splitSkeleton, type SourceFormat, type SourceLayout } from './layout.js';
import { encodeTensor, type EncodeTensorOptions } from './encode-tensor.js';
import { unpackModel } from './reader.js';
import { concatBytes } from '../../core/bytes.js';

export interface PackInput {
  readonly format: SourceFormat;
  /** The model's files; for TF.js the model JSON first, then the shards (names relative to the JSON). */
  readonly files: readonly { readonly name: string; readonly bytes: Uint8Array }[];
}

export interface PackOptions extends EncodeTensorOptions {
  /** Payloads smaller than this stay in the skeleton (coded together with it; no table entry, no random access). Default 64 bytes, the minimum. */
  readonly minTensorBytes?: number;
  /** Decode the finished container and compare it with the input byte for byte (E_CORRUPT if it differs). Default true. */
  readonly verify?: boolean;
  /** Name used in error messages. */
  readonly file?: string;
  /**
   * Code the skeleton and the index with the generic context-mixing coder
   * (within the per-file budget) instead of lz: ~25% smaller on structure,
   * but it decodes at ~0.5 MB/s, which made it most of a model's decode time.
   * Default: only when slowCoderMinGain is 0 (`--smallest`).
   */
  readonly genericStructure?: boolean;
}

export interface TensorPackReport {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly rawBytes: number;
  readonly storedBytes: number;
  /** Pipeline label, e.g. 'floatplanes-f32', 'codebook(16)+cabac', 'dedup'. */
  readonly pipeline: string;
  readonly dedupOf?: string;
  /** Encoded size of every candidate tried (bytes). */
  readonly candidates?: Record<string, number>;
}

export interface PackReport {
  readonly format: SourceFormat;
  readonly originalBytes: number;
  readonly packedBytes: number;
  /** originalBytes / packedBytes. */
  readonly ratio: number;
  /** Why the model was stored as one opaque skeleton, when its structure could not be split. */
  readonly fallback?: string;
  readonly skeleton: { readonly rawBytes: number; readonly storedBytes: number; readonly coder: string };
  readonly indexBytes: number;
  /** Raw and stored bytes per pipeline (skeleton, tensors by label, index/header/trailer). */
  readonly stages: Record<string, { tensors: number; rawBytes: number; storedBytes: number }>;
  readonly tensors: readonly TensorPackReport[];
}

export interface PackResult {
  readonly bytes: Uint8Array;
  readonly report: PackReport;
}

function layoutOf(input: PackInput, whole: Uint8Array): SourceLayout {
  switch (input.format) {
    case 'onnx':
      // files[1..] are external data files named by their `location`
      return sourceLayout(
        onnxByteLayout(
          input.files[0]!.bytes,
          input.files.slice(1).map((f) => ({ name: f.name, length: f.bytes.length })),
          input.files[0]!.name,
        ),
      );
    case 'safetensors':
      if (input.files.length !== 1) fail('E_ARG', 'a safetensors model is packed from one file');
      return sourceLayout(safetensorsByteLayout(whole));
    case 'tfjs':
      return sourceLayout(tfjsByteLayout(input.files));
    case 'opaque':
      return opaqueLayout(input);
  }
}

function opaqueLayout(input: PackInput): SourceLayout {
  return { format: input.format, files: input.files.map((f) => ({ name: f.name, length: f.bytes.length })), slots: [] };
}

/** Interleaves skeleton and payloads again; the pack-time proof that the split restores the input. */
function restores(whole: Uint8Array, layout: SourceLayout, skeleton: Uint8Array, payloads: readonly Uint8Array[]): boolean {
  let sk = 0;
  let pos = 0;
  const same = (a: Uint8Array, at: number): boolean => {
    for (let i = 0; i < a.length; i++) if (whole[at + i] !== a[i]) return false;
    return true;
  };
  for (let i = 0; i < layout.slots.length; i++) {
    const s = layout.slots[i]!;
    const gap = s.offset - pos;
    if (gap < 0 || !same(skeleton.subarray(sk, sk + gap), pos)) return false;
    sk += gap;
    if (!same(payloads[i]!, s.offset)) return false;
    pos = s.offset + s.length;
  }
  return same(skeleton.subarray(sk), pos) && sk + (whole.length - pos) === skeleton.length;
}

/**
 * Largest skeleton (structure bytes between the tensor payloads, plus every
 * payload under MIN_SLOT_BYTES) packModel codes. Skeletons over the generic
 * coder's budget go through lz (~10 MB/s to code, 100+ MB/s to verify), so
 * 16 MiB is a few seconds; a larger one (a 95 MB safetensors header of tiny
 * tensors) is refused up front with E_LIMIT: its index and restore would
 * still cost far more than any real model's structure.
 */
export const MAX_SKELETON_BYTES = 16 * 1024 * 1024;

/** Refuses a skeleton over MAX_SKELETON_BYTES; `atLeast` marks a lower bound known before the layout is parsed. */
function checkSkeletonBytes(length: number, file: string | undefined, atLeast = false): void {
  if (length > MAX_SKELETON_BYTES)
    fail(
      'E_LIMIT',
      `the model's skeleton (structure and tensors under ${MIN_SLOT_BYTES} bytes) is ${atLeast ? 'at least ' : ''}${length} bytes, over the ${MAX_SKELETON_BYTES}-byte limit (MAX_SKELETON_BYTES)`,
      file,
    );
}

/** Skeleton bytes known from the input alone: a safetensors header and a TF.js model JSON are all structure. */
function skeletonLowerBound(input: PackInput): number {
  const first = input.files[0]!.bytes;
  if (input.format === 'tfjs') return first.length;
  if (input.format === 'safetensors' && first.length >= 8) {
    const n = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
    return n > BigInt(first.length) ? first.length : 8 + Number(n);
  }
  return 0;
}

/**
 * Codes the skeleton with the generic context-mixing coder when it fits
 * `genericBudget` (it wins by ~40% on small structure, where its ~0.5 MB/s
 * costs little), with lz beyond (near-deflate ratio at 100+ MB/s), raw when
 * neither is smaller.
 */
function encodeSkeleton(
  skeleton: Uint8Array,
  chunkBytes: number,
  genericBudget: number,
  file?: string,
): { stream: StreamDesc; chunks: Uint8Array[] } {
  checkSkeletonBytes(skeleton.length, file);
  const raw: Uint8Array[] = [];
  const coded: Uint8Array[] = [];
  const counts: number[] = [];
  const coder = skeleton.length <= genericBudget ? CODER.bytes : CODER.lz;
  for (let s = 0; s < skeleton.length; s += chunkBytes) {
    const part = skeleton.subarray(s, Math.min(skeleton.length, s + chunkBytes));
    raw.push(part);
    coded.push(coder === CODER.bytes ? encodeBytes(part) : encodeLz(part));
    counts.push(part.length);
  }
  const codedSize = coded.reduce((a, b) => a + b.length, 0);
  const useCoded = codedSize < skeleton.length;
  const chunks = useCoded ? coded : raw;
  return {
    stream: {
      coder: useCoded ? coder : CODER.raw,
      chunks: chunks.map((c, i) => ({ count: counts[i]!, encodedLength: c.length, offset: 0 })),
    },
    chunks,
  };
}

/** Packs a model into .mpz bytes; lossless: unpacking gives the input files byte for byte. */
export function packModel(input: PackInput, opts: PackOptions = {}): PackResult {
  if (input.files.length === 0) fail('E_ARG', 'packModel: no files given', opts.file);
  checkSkeletonBytes(skeletonLowerBound(input), opts.file, true);
  const whole = concatBytes(input.files.map((f) => f.bytes));
  const chunkBytes = opts.chunkBytes ?? CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 64 || chunkBytes % 8 !== 0 || chunkBytes > MAX_CHUNK_BYTES)
    fail(
      'E_ARG',
      `chunkBytes ${chunkBytes} must be a multiple of 8, at least 64 and at most ${MAX_CHUNK_BYTES} (readers refuse larger chunks)`,
    );

  let layout: SourceLayout;
  let fallback: string | undefined;
  try {
    layout = layoutOf(input, whole);
  } catch (e) {
    if (!(e instanceof ModelpressError) || e.code === 'E_ARG') throw e;
    fallback = `could not split the ${input.format} structure (${e.message}); stored the original bytes with the generic coder`;
    layout = opaqueLayout(input);
  }
  const minTensorBytes = opts.minTensorBytes ?? MIN_SLOT_BYTES;
  if (minTensorBytes > MIN_SLOT_BYTES) layout = { ...layout, slots: layout.slots.filter((s) => s.length >= minTensorBytes) };
  let { skeleton, payloads } = splitSkeleton(whole, layout.slots);
  if (!restores(whole, layout, skeleton, payloads)) {
    fallback = 'skeleton + payloads did not restore the original bytes; stored the original bytes with the generic coder';
    layout = opaqueLayout(input);
    ({ skeleton, payloads } = splitSkeleton(whole, layout.slots));
  }

  // the readers' limit on generic-coder work per file (MAX_GENERIC_BYTES): skeleton first, then tensors, then the index
  let genericLeft = MAX_GENERIC_BYTES;
  const genericStructure = opts.genericStructure ?? opts.slowCoderMinGain === 0;
  const sk = encodeSkeleton(skeleton, chunkBytes, genericStructure ? genericLeft : -1, opts.file);
  for (const c of sk.stream.chunks) genericLeft -= genericWork(sk.stream.coder, c.count);
  const dataChunks: Uint8Array[] = [...sk.chunks];
  const tensors: TensorEntry[] = [];
  const reports: TensorPackReport[] = [];
  // tensors stored so far, by CRC and length, for exact-duplicate detection
  const byCrc = new Map<string, number[]>();
  const payloadOfTensor = new Map<number, Uint8Array>();
  layout.slots.forEach((slot, i) => {
    const data = payloads[i]!;
    const crc = crc32c(data);
    const key = `${crc}:${data.length}`;
    const dtypeId = slot.dtype === 'bytes' ? 0 : dtypeToOnnx(slot.dtype as DType);
    const base = { name: slot.name, dtypeId, shape: slot.shape, offset: slot.offset, length: slot.length, crc };
    const dupOf = (byCrc.get(key) ?? []).find((j) => equalBytes(payloadOfTensor.get(j)!, data));
    if (dupOf !== undefined) {
      tensors.push({ ...base, encoding: { kind: 'dedup', ref: dupOf } });
      reports.push({
        name: slot.name,
        dtype: slot.dtype,
        shape: slot.shape,
        rawBytes: data.length,
        storedBytes: 0,
        pipeline: 'dedup',
        dedupOf: tensors[dupOf]!.name,
      });
      return;
    }
    const choice = encodeTensor(data, slot.dtype, {
      ...opts,
      elementCount: slot.dtype === 'bytes' ? data.length : elementCount(slot.shape),
      genericBudget: genericLeft,
    });
    const b = choice.best;
    for (const c of b.chunks) genericLeft -= genericWork(b.coder, c.count);
    const chunks: ChunkRef[] = b.chunks.map((c) => ({ count: c.count, encodedLength: c.bytes.length, offset: 0 }));
    const stream: StreamDesc = { coder: b.coder, chunks };
    const encoding: Encoding = b.codebook ? { kind: 'codebook', ...b.codebook, stream } : { kind: 'direct', stream };
    for (const c of b.chunks) dataChunks.push(c.bytes);
    byCrc.set(key, [...(byCrc.get(key) ?? []), tensors.length]);
    payloadOfTensor.set(tensors.length, data);
    tensors.push({ ...base, encoding });
    reports.push({
      name: slot.name,
      dtype: slot.dtype,
      shape: slot.shape,
      rawBytes: data.length,
      storedBytes: b.size,
      pipeline: b.label,
      candidates: choice.tried,
    });
  });
  payloadOfTensor.clear();

  const files = layout.files.map((f, i) => ({ name: f.name, length: f.length, crc: crc32c(input.files[i]!.bytes) }));
  const indexBytes = encodeIndexSection(
    writeIndex({ format: layout.format, files, totalLength: whole.length, skeleton: sk.stream, tensors }),
    genericStructure ? genericLeft : -1,
  );
  // format 1.1 added the lz coder, 1.2 fastfloat: files say the lowest minor version whose coders they use
  const usesFastFloat = tensors.some((t) => t.encoding.kind === 'direct' && t.encoding.stream.coder === CODER.fastFloat);
  const usesLz =
    indexBytes[0] === CODER.lz ||
    sk.stream.coder === CODER.lz ||
    tensors.some((t) => t.encoding.kind === 'direct' && t.encoding.stream.coder === CODER.lz);
  const minor = usesFastFloat ? 2 : usesLz ? 1 : 0;
  let dataLength = 0;
  for (const c of dataChunks) dataLength += c.length + 4;
  const fileLength = HEADER_BYTES + indexBytes.length + dataLength + TRAILER_BYTES;
  const header = writeHeader(indexBytes.length, fileLength, crc32c(indexBytes), minor);
  const out = new Uint8Array(fileLength);
  out.set(header, 0);
  out.set(indexBytes, HEADER_BYTES);
  let at = HEADER_BYTES + indexBytes.length;
  const view = new DataView(out.buffer);
  for (const c of dataChunks) {
    out.set(c, at);
    at += c.length;
    view.setUint32(at, crc32c(c), true);
    at += 4;
  }
  out.set(writeTrailer(header), at);

  if (opts.verify ?? true) {
    const back = unpackModel(out, opts.file === undefined ? {} : { file: opts.file });
    back.files.forEach((f, i) => {
      if (!equalBytes(f.bytes, input.files[i]!.bytes))
        fail('E_CORRUPT', `pack verification failed: file '${f.name || '(model)'}' does not decode to the input bytes`, opts.file);
    });
  }
  const report = buildReport(input.format, whole.length, out.length, indexBytes.length, skeleton.length, sk, reports, fallback);
  return { bytes: out, report };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function buildReport(
  format: SourceFormat,
  originalBytes: number,
  packedBytes: number,
  indexBytes: number,
  skeletonBytes: number,
  sk: { stream: StreamDesc; chunks: Uint8Array[] },
  tensors: TensorPackReport[],
  fallback: string | undefined,
): PackReport {
  const skStored = sk.chunks.reduce((a, c) => a + c.length + 4, 0);
  const stages: Record<string, { tensors: number; rawBytes: number; storedBytes: number }> = {
    [`skeleton(${CODER_NAMES[sk.stream.coder]})`]: { tensors: 0, rawBytes: skeletonBytes, storedBytes: skStored },
    'index+header+trailer': { tensors: 0, rawBytes: 0, storedBytes: indexBytes + HEADER_BYTES + TRAILER_BYTES },
  };
  for (const t of tensors) {
    const s = (stages[t.pipeline] ??= { tensors: 0, rawBytes: 0, storedBytes: 0 });
    s.tensors++;
    s.rawBytes += t.rawBytes;
    s.storedBytes += t.storedBytes;
  }
  return {
    format,
    originalBytes,
    packedBytes,
    ratio: originalBytes / packedBytes,
    ...(fallback === undefined ? {} : { fallback }),
    skeleton: { rawBytes: skeletonBytes, storedBytes: skStored, coder: CODER_NAMES[sk.stream.coder]! },
    indexBytes,
    stages,
    tensors,
  };
}
