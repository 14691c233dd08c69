/**
 * Whole-buffer .mpz reading: open (validate header, index, trailer), unpack
 * to the original files, and random access to one tensor.
 */
import { dtypeFromOnnx } from '../../core/dtypes.js';
import { fail } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { crc32c } from '../checksum.js';
import { Assembler, checkChunkCrc, planSteps, type UnpackedModel } from './assemble.js';
import { decodeTensorChunk, rethrowAt } from './decode-chunk.js';
import { HEADER_BYTES, TRAILER_BYTES, checkTrailer, defaultMaxOutput, readHeader } from './format.js';
import { decodeIndexSection, elementWidth, indexGenericBytes, parseIndex, type MpzIndex, type TensorEntry } from './index-codec.js';

export interface ReadOptions {
  /** Name used in error messages. */
  readonly file?: string;
  /** Largest decoded output accepted, in bytes (default: 256x the file + 64 MiB, defaultMaxOutput); beyond it E_LIMIT. */
  readonly maxOutput?: number;
  /** Most bytes the generic context-mixing coder may decode for the file (default MAX_GENERIC_BYTES, 512 KiB); beyond it E_LIMIT. */
  readonly maxGenericBytes?: number;
}

/** Validates the header, index checksum, index and trailer of a whole .mpz file and returns its index. */
export function openMpz(bytes: Uint8Array, opts: ReadOptions = {}): MpzIndex {
  const { file } = opts;
  const header = readHeader(bytes, bytes.length, file);
  const indexBytes = bytes.subarray(HEADER_BYTES, HEADER_BYTES + header.indexLength);
  if (crc32c(indexBytes) !== header.indexCrc) fail('E_CHECKSUM', '.mpz index CRC32C mismatch', file);
  checkTrailer(bytes.subarray(header.fileLength - TRAILER_BYTES, header.fileLength), bytes, file);
  const maxOutput = opts.maxOutput ?? defaultMaxOutput(header.fileLength);
  return parseIndex(decodeIndexSection(indexBytes, file, maxOutput, opts.maxGenericBytes), {
    fileLength: header.fileLength,
    maxOutput,
    indexGenericBytes: indexGenericBytes(indexBytes),
    ...(opts.maxGenericBytes === undefined ? {} : { maxGenericBytes: opts.maxGenericBytes }),
    dataStart: HEADER_BYTES + header.indexLength,
    ...(file === undefined ? {} : { file }),
  });
}

/** Decodes a whole .mpz file back to the original model files (byte-identical to what was packed). */
export function unpackModel(bytes: Uint8Array, opts: ReadOptions = {}): UnpackedModel {
  const index = openMpz(bytes, opts);
  const asm = new Assembler(index, opts.file);
  for (const step of planSteps(index)) {
    if (step.kind === 'dedup') asm.apply(step);
    else asm.apply(step, bytes.subarray(step.chunk.offset, step.chunk.offset + step.chunk.encodedLength + 4));
  }
  return asm.finish();
}

/** The tensor that holds the bytes of `entry` (itself, or the one it duplicates). */
function sourceOf(index: MpzIndex, entry: TensorEntry, file?: string): TensorEntry {
  const source = entry.encoding.kind === 'dedup' ? index.tensors[entry.encoding.ref]! : entry;
  if (source.encoding.kind === 'dedup') fail('E_CORRUPT', `tensor '${entry.name}': reference chain`, file);
  return source;
}

/** File range [start, end) holding the chunks of `entry` (its chunks are contiguous). */
export function tensorChunkSpan(index: MpzIndex, entry: TensorEntry): { start: number; end: number } {
  const source = sourceOf(index, entry);
  const chunks = source.encoding.kind === 'dedup' ? [] : source.encoding.stream.chunks;
  if (chunks.length === 0) return { start: 0, end: 0 };
  const last = chunks[chunks.length - 1]!;
  return { start: chunks[0]!.offset, end: last.offset + last.encodedLength + 4 };
}

/**
 * Decodes tensor `entry` from `span`, bytes of the file starting at offset
 * `spanStart` that cover its chunks; checks chunk CRCs and the tensor CRC.
 */
export function decodeTensorEntry(index: MpzIndex, entry: TensorEntry, span: Uint8Array, spanStart: number, file?: string): Tensor {
  const source = sourceOf(index, entry, file);
  const out = new Uint8Array(source.length);
  let unit = 0;
  if (source.encoding.kind !== 'dedup') {
    source.encoding.stream.chunks.forEach((chunk, i) => {
      const where = `tensor '${source.name}' chunk ${i}`;
      const at = chunk.offset - spanStart;
      if (at < 0 || at + chunk.encodedLength + 4 > span.length) fail('E_TRUNCATED', `${where}: not within the bytes read`, file);
      const encoded = checkChunkCrc(span.subarray(at, at + chunk.encodedLength + 4), where, file);
      try {
        decodeTensorChunk(source.encoding, elementWidth(source.dtypeId), encoded, chunk.count, unit, out, 0);
      } catch (e) {
        rethrowAt(e, where, file);
      }
      unit += chunk.count;
    });
  }
  if (crc32c(out) !== entry.crc) fail('E_CHECKSUM', `decoded tensor '${entry.name}' does not match its recorded CRC32C`, file);
  const dtype = entry.dtypeId === 0 ? 'uint8' : dtypeFromOnnx(entry.dtypeId)!;
  return { dtype, shape: entry.dtypeId === 0 ? [entry.length] : [...entry.shape], data: out };
}

/**
 * Random access: decodes only the named tensor. Opaque payloads (dtype id 0,
 * e.g. varint-packed protobuf fields) come back as a uint8 tensor of their bytes.
 */
export function readTensor(bytes: Uint8Array, name: string, opts: ReadOptions = {}): Tensor {
  const index = openMpz(bytes, opts);
  const entry = index.tensors.find((t) => t.name === name);
  if (!entry) return fail('E_NOT_FOUND', `no tensor named '${name}' in the .mpz tensor table`, opts.file);
  return decodeTensorEntry(index, entry, bytes, 0, opts.file);
}

/** The names, dtypes, shapes and stored sizes of the tensors in an .mpz file (no payload is decoded). */
export function listMpzTensors(
  bytes: Uint8Array,
  opts: ReadOptions = {},
): { name: string; dtype: string; shape: readonly number[]; bytes: number; encoding: string }[] {
  const index = openMpz(bytes, opts);
  return index.tensors.map((t) => ({
    name: t.name,
    dtype: t.dtypeId === 0 ? 'bytes' : dtypeFromOnnx(t.dtypeId)!,
    shape: t.shape,
    bytes: t.length,
    encoding: t.encoding.kind,
  }));
}
