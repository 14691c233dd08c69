/**
 * The .mpz index: what the original model looked like (format, files) and,
 * for the skeleton and every tensor, how its bytes are encoded and where its
 * checksummed chunks lie. Serialized with LEB128 varints; parsing validates
 * every count, length and offset before anything is allocated from it.
 */
import { byteLength, dtypeFromOnnx, dtypeTraits, elementCount } from '../../core/dtypes.js';
import { ModelpressError, fail } from '../../core/errors.js';
import { ByteReader, ByteWriter } from '../bytes.js';
import { BYTES_MAX_EXPANSION, decodeBytes, encodeBytes } from '../bytecoder.js';
import { decodeLz, encodeLz } from '../lz.js';
import { CODER, CODER_NAMES, coderTraits, floatCoderFor } from './coders.js';
import { ENCODING, MAX_CHUNK_BYTES, MAX_GENERIC_BYTES, MAX_OUTPUT_BYTES, TRAILER_BYTES, defaultMaxOutput } from './format.js';
import { FORMAT_IDS, type SourceFormat } from './layout.js';

export interface ChunkRef {
  /** Decoded units in the chunk: bytes for byte coders, elements for index coders. */
  readonly count: number;
  readonly encodedLength: number;
  /** Absolute file offset of the chunk's encoded bytes (its CRC32C follows them); computed, not stored. */
  offset: number;
}

export interface StreamDesc {
  readonly coder: number;
  readonly chunks: ChunkRef[];
}

export type Encoding =
  | { readonly kind: 'dedup'; readonly ref: number }
  | { readonly kind: 'direct'; readonly stream: StreamDesc }
  | {
      readonly kind: 'codebook';
      /** Distinct element values, `size` of them, each `width` raw bytes, ascending by value. */
      readonly entries: Uint8Array;
      readonly size: number;
      /** Index of the entry coded as 0 by signed coders (cabac, sparse): the zero or smallest-magnitude value. */
      readonly center: number;
      readonly stream: StreamDesc;
    };

export interface TensorEntry {
  readonly name: string;
  /** ONNX TensorProto.DataType value; 0 = opaque bytes. */
  readonly dtypeId: number;
  readonly shape: readonly number[];
  /** Position in the concatenated original files. */
  readonly offset: number;
  readonly length: number;
  /** CRC32C of the tensor's original bytes. */
  readonly crc: number;
  readonly encoding: Encoding;
}

export interface SourceFileEntry {
  readonly name: string;
  readonly length: number;
  readonly crc: number;
}

export interface MpzIndex {
  readonly format: SourceFormat;
  readonly files: readonly SourceFileEntry[];
  /** Sum of the file lengths: the decoded output size. */
  readonly totalLength: number;
  readonly skeleton: StreamDesc;
  readonly tensors: readonly TensorEntry[];
  /** First and one-past-last byte of the chunk area. */
  readonly dataStart: number;
  readonly dataEnd: number;
}

const utf8 = new TextEncoder();

function writeString(w: ByteWriter, s: string): void {
  const b = utf8.encode(s);
  w.varuint(b.length);
  w.bytes(b);
}

function writeU32(w: ByteWriter, v: number): void {
  w.u8(v & 0xff);
  w.u8((v >>> 8) & 0xff);
  w.u8((v >>> 16) & 0xff);
  w.u8(v >>> 24);
}

function writeStream(w: ByteWriter, s: StreamDesc): void {
  w.u8(s.coder);
  w.varuint(s.chunks.length);
  for (const c of s.chunks) {
    w.varuint(c.count);
    w.varuint(c.encodedLength);
  }
}

/** Serializes the index (chunk offsets are implied by order and not stored). */
export function writeIndex(index: Omit<MpzIndex, 'dataStart' | 'dataEnd'>): Uint8Array {
  const w = new ByteWriter(4096);
  w.u8(FORMAT_IDS[index.format]);
  w.u8(0); // reserved flags
  w.varuint(index.files.length);
  for (const f of index.files) {
    writeString(w, f.name);
    w.varuint(f.length);
    writeU32(w, f.crc);
  }
  writeStream(w, index.skeleton);
  w.varuint(index.tensors.length);
  for (const t of index.tensors) {
    writeString(w, t.name);
    w.u8(t.dtypeId);
    w.varuint(t.shape.length);
    for (const d of t.shape) w.varuint(d);
    w.varuint(t.offset);
    w.varuint(t.length);
    writeU32(w, t.crc);
    const e = t.encoding;
    w.u8(ENCODING[e.kind]);
    if (e.kind === 'dedup') w.varuint(e.ref);
    else if (e.kind === 'direct') writeStream(w, e.stream);
    else {
      w.varuint(e.size);
      w.varuint(e.center);
      w.bytes(e.entries);
      writeStream(w, e.stream);
    }
  }
  return w.finish();
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

class IndexReader {
  private readonly r: ByteReader;
  constructor(
    bytes: Uint8Array,
    private readonly file?: string,
  ) {
    this.r = new ByteReader(bytes, '.mpz index');
  }
  get remaining(): number {
    return this.r.remaining;
  }
  u8(): number {
    return this.wrap(() => this.r.u8());
  }
  varuint(): number {
    return this.wrap(() => this.r.varuint());
  }
  u32(): number {
    const b = this.wrap(() => this.r.bytesView(4));
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }
  bytes(n: number): Uint8Array {
    return this.wrap(() => this.r.bytesView(n));
  }
  string(what: string): string {
    const n = this.varuint();
    const b = this.bytes(n);
    try {
      return strictUtf8.decode(b);
    } catch {
      return fail('E_CORRUPT', `.mpz index: ${what} is not valid UTF-8`, this.file);
    }
  }
  /** The index is checksummed, so running out of it means the writer and reader disagree: corrupt, not truncated. */
  private wrap<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      return fail('E_CORRUPT', msg, this.file);
    }
  }
}

/**
 * Bytes per element for dtypes a codebook can hold: whole-byte fixed widths,
 * or 0.5 for the 4-bit types (two elements per byte, first in the low nibble).
 * 0 when a codebook cannot hold the dtype.
 */
export function elementWidth(dtypeId: number): number {
  if (dtypeId === 0) return 1;
  const d = dtypeFromOnnx(dtypeId);
  if (!d || d === 'string') return 0;
  const bits = dtypeTraits(d).bits;
  return bits === 4 ? 0.5 : bits % 8 === 0 ? bits / 8 : 0;
}

export interface ParseIndexOptions {
  readonly file?: string;
  /** File offset of the first chunk: right after the stored index section. */
  readonly dataStart: number;
  /** Total file length from the header: every chunk must end before the trailer. */
  readonly fileLength: number;
  /** Largest decoded output accepted (bytes); default defaultMaxOutput(fileLength). Larger claims fail with E_LIMIT. */
  readonly maxOutput?: number;
  /** Most bytes the generic context-mixing coder may decode for this file; default MAX_GENERIC_BYTES. */
  readonly maxGenericBytes?: number;
  /** Generic-coder bytes the index section already used (indexGenericBytes of the stored section). */
  readonly indexGenericBytes?: number;
}

/**
 * Bytes of generic-coder (coder 1) work a chunk of `coder` with `count` units
 * can demand: all of them for coder 1, the sign section (ceil(count / 32)
 * bytes, coded with coder 1) for signlz-f32, none for the others.
 */
export function genericWork(coder: number, count: number): number {
  if (coder === CODER.bytes) return count;
  if (coder === CODER.signlzF32) return Math.ceil(count / 32);
  return 0;
}

/**
 * Refuses a chunk whose claimed decoded size the format cannot produce: more
 * than MAX_CHUNK_BYTES of output, or more units than its coder's best ratio
 * allows from `encodedLength` bytes. Runs before anything is allocated.
 */
function checkChunkClaim(what: string, coder: number, count: number, encodedLength: number, width: number, file?: string): void {
  if (count * width > MAX_CHUNK_BYTES)
    fail('E_LIMIT', `.mpz index: ${what} claims ${count * width} decoded bytes (chunks hold at most ${MAX_CHUNK_BYTES})`, file);
  const ratio = coderTraits(coder)?.maxExpansion;
  if (ratio !== undefined && count > encodedLength * ratio)
    fail(
      'E_LIMIT',
      `.mpz index: ${what} claims ${count} units from ${encodedLength} bytes (coder ${CODER_NAMES[coder]} yields at most ${ratio} per byte)`,
      file,
    );
}

/** Parses and validates an index (its CRC already checked by the caller). */
export function parseIndex(bytes: Uint8Array, opts: ParseIndexOptions): MpzIndex {
  const { file } = opts;
  const r = new IndexReader(bytes, file);
  const bad = (msg: string): never => fail('E_CORRUPT', `.mpz index: ${msg}`, file);
  const formatId = r.u8();
  const format = (Object.keys(FORMAT_IDS) as SourceFormat[]).find((k) => FORMAT_IDS[k] === formatId);
  if (format === undefined) fail('E_UNSUPPORTED', `.mpz index: unknown original format id ${formatId}`, file);
  const flags = r.u8();
  if (flags !== 0) fail('E_UNSUPPORTED', `.mpz index: reserved flags 0x${flags.toString(16)} set`, file);

  const maxOutput = opts.maxOutput ?? defaultMaxOutput(opts.fileLength);
  const fileCount = r.varuint();
  if (fileCount < 1) bad('no files');
  const files: SourceFileEntry[] = [];
  let totalLength = 0;
  const names = new Set<string>();
  for (let i = 0; i < fileCount; i++) {
    const name = r.string(`file ${i} name`);
    if (fileCount > 1 || name !== '') checkRelativePath(name, file);
    if (names.has(name)) bad(`file name '${name}' repeated`);
    names.add(name);
    const length = r.varuint();
    totalLength += length;
    if (totalLength > MAX_OUTPUT_BYTES) fail('E_UNSUPPORTED', `.mpz index: decoded size exceeds ${MAX_OUTPUT_BYTES} bytes`, file);
    if (totalLength > maxOutput)
      fail('E_LIMIT', `.mpz index: decoded size ${totalLength} exceeds the output limit of ${maxOutput} bytes (--max-output)`, file);
    files.push({ name, length, crc: r.u32() });
  }

  const dataStart = opts.dataStart;
  const dataLimit = opts.fileLength - TRAILER_BYTES;
  let cursor = dataStart;
  const maxGeneric = opts.maxGenericBytes ?? MAX_GENERIC_BYTES;
  let generic = opts.indexGenericBytes ?? 0;
  const spendGeneric = (what: string, coder: number, count: number): void => {
    generic += genericWork(coder, count);
    if (generic > maxGeneric)
      fail(
        'E_LIMIT',
        `.mpz index: ${what} brings the generic (context-mixing) coder's work to ${generic} bytes, over the limit of ${maxGeneric} (it decodes at ~0.5 MB/s; --max-cm-bytes or maxGenericBytes lifts the limit)`,
        file,
      );
  };
  const readStream = (what: string, expectedCount: number, width: number, allowed: readonly number[]): StreamDesc => {
    const coder = r.u8();
    if (coder >= CODER_NAMES.length) fail('E_UNSUPPORTED', `.mpz index: ${what} uses unknown coder id ${coder}`, file);
    if (!allowed.includes(coder)) bad(`${what} cannot use coder ${CODER_NAMES[coder]}`);
    const n = r.varuint();
    const chunks: ChunkRef[] = [];
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const count = r.varuint();
      const encodedLength = r.varuint();
      if (count === 0) bad(`${what} chunk ${i} is empty`);
      checkChunkClaim(`${what} chunk ${i}`, coder, count, encodedLength, width, file);
      spendGeneric(`${what} chunk ${i}`, coder, count);
      if (coder === CODER.raw && encodedLength !== count) bad(`${what} raw chunk ${i} stores ${encodedLength} bytes for ${count}`);
      sum += count;
      if (sum > expectedCount) bad(`${what} chunks hold more than its ${expectedCount} units`);
      if (cursor + encodedLength + 4 > dataLimit)
        bad(`${what} chunk ${i} (${encodedLength} bytes at ${cursor}) runs past the chunk area end ${dataLimit}`);
      chunks.push({ count, encodedLength, offset: cursor });
      cursor += encodedLength + 4;
    }
    if (sum !== expectedCount) bad(`${what} chunks hold ${sum} units, expected ${expectedCount}`);
    return { coder, chunks };
  };

  // The skeleton's length is implied (output minus payloads); it is checked once the tensors are read.
  const skCoder = r.u8();
  if (skCoder !== CODER.raw && skCoder !== CODER.bytes && skCoder !== CODER.lz) {
    if (skCoder >= CODER_NAMES.length) fail('E_UNSUPPORTED', `.mpz index: skeleton uses unknown coder id ${skCoder}`, file);
    bad(`skeleton cannot use coder ${CODER_NAMES[skCoder]}`);
  }
  const skN = r.varuint();
  const skChunks: ChunkRef[] = [];
  let skeletonLength = 0;
  for (let i = 0; i < skN; i++) {
    const count = r.varuint();
    const encodedLength = r.varuint();
    if (count === 0) bad(`skeleton chunk ${i} is empty`);
    if (skCoder === CODER.raw && encodedLength !== count) bad(`skeleton raw chunk ${i} stores ${encodedLength} bytes for ${count}`);
    checkChunkClaim(`skeleton chunk ${i}`, skCoder, count, encodedLength, 1, file);
    spendGeneric(`skeleton chunk ${i}`, skCoder, count);
    skeletonLength += count;
    if (skeletonLength > totalLength) bad(`skeleton chunks hold more than the ${totalLength} output bytes`);
    if (cursor + encodedLength + 4 > dataLimit) bad(`skeleton chunk ${i} runs past the chunk area end ${dataLimit}`);
    skChunks.push({ count, encodedLength, offset: cursor });
    cursor += encodedLength + 4;
  }
  const skeleton: StreamDesc = { coder: skCoder, chunks: skChunks };

  const tensorCount = r.varuint();
  const tensors: TensorEntry[] = [];
  let prevEnd = 0;
  let payloadBytes = 0;
  for (let i = 0; i < tensorCount; i++) {
    const name = r.string(`tensor ${i} name`);
    const what = `tensor '${name}'`;
    const dtypeId = r.u8();
    const dtype = dtypeId === 0 ? 'bytes' : dtypeFromOnnx(dtypeId);
    if (dtype === undefined) fail('E_UNSUPPORTED', `.mpz index: ${what} has unknown dtype id ${dtypeId}`, file);
    if (dtype === 'string') bad(`${what} has dtype string, which has no fixed layout`);
    const rank = r.varuint();
    if (rank > 64) bad(`${what} has rank ${rank} (> 64)`);
    const shape: number[] = [];
    for (let k = 0; k < rank; k++) shape.push(r.varuint());
    const offset = r.varuint();
    const length = r.varuint();
    const crc = r.u32();
    if (offset < prevEnd) bad(`${what} at offset ${offset} overlaps or precedes the previous tensor (ends at ${prevEnd})`);
    if (offset + length > totalLength) bad(`${what} (${length} bytes at ${offset}) runs past the output end ${totalLength}`);
    const count = elementCount(shape);
    if (dtype === 'bytes' ? count !== length : !Number.isSafeInteger(count) || byteLength(dtype, count) !== length)
      bad(`${what}: shape [${shape.join(',')}] of ${dtype} does not make ${length} bytes`);
    prevEnd = offset + length;
    payloadBytes += length;
    const kind = r.u8();
    let encoding: Encoding;
    if (kind === ENCODING.dedup) {
      const ref = r.varuint();
      if (ref >= i) bad(`${what} refers to tensor ${ref}, which does not precede it`);
      const target = tensors[ref]!;
      if (target.encoding.kind === 'dedup') bad(`${what} refers to tensor ${ref}, itself a reference`);
      if (target.length !== length || target.crc !== crc) bad(`${what} refers to tensor ${ref} whose length or CRC differs`);
      encoding = { kind: 'dedup', ref };
    } else if (kind === ENCODING.direct) {
      const fc = floatCoderFor(dtype);
      const allowed: number[] =
        fc === undefined ? [CODER.raw, CODER.bytes, CODER.lz] : [CODER.raw, CODER.bytes, CODER.lz, fc, CODER.fastFloat];
      if (dtype === 'float32') allowed.push(CODER.signlzF32);
      const stream = readStream(what, length, 1, allowed);
      if (fc !== undefined && (stream.coder === fc || stream.coder === CODER.signlzF32 || stream.coder === CODER.fastFloat)) {
        const unit = dtype === 'float32' ? 4 : 2;
        for (const [j, c] of stream.chunks.entries()) if (c.count % unit !== 0) bad(`${what} chunk ${j} splits a ${dtype} element`);
      }
      encoding = { kind: 'direct', stream };
    } else if (kind === ENCODING.codebook) {
      const width = elementWidth(dtypeId);
      if (width === 0) bad(`${what}: a codebook cannot hold ${dtype} elements`);
      const nibbles = width === 0.5;
      const size = r.varuint();
      if (size < 1 || size > (nibbles ? 16 : 65536)) bad(`${what}: codebook size ${size} outside 1..${nibbles ? 16 : 65536}`);
      const center = r.varuint();
      if (center >= size) bad(`${what}: codebook center ${center} >= size ${size}`);
      const entries = r.bytes(nibbles ? size : size * width);
      if (nibbles && entries.some((e) => e > 15)) bad(`${what}: 4-bit codebook entry above 15`);
      const stream = readStream(`${what} indices`, nibbles ? count : length / width, width, [
        CODER.huffman,
        CODER.cabac,
        CODER.sparseHuffman,
        CODER.sparseCabac,
      ]);
      // 4-bit chunks start on byte boundaries, so each chunk but the last holds an even count
      if (nibbles)
        stream.chunks.forEach(
          (c, j) => j < stream.chunks.length - 1 && c.count % 2 !== 0 && bad(`${what} chunk ${j} splits a byte of 4-bit elements`),
        );
      encoding = { kind: 'codebook', entries, size, center, stream };
    } else {
      fail('E_UNSUPPORTED', `.mpz index: ${what} uses unknown encoding kind ${kind}`, file);
    }
    tensors.push({ name, dtypeId, shape, offset, length, crc, encoding });
  }
  if (r.remaining !== 0) bad(`${r.remaining} unread bytes after the tensor table`);
  if (skeletonLength + payloadBytes !== totalLength)
    bad(`skeleton (${skeletonLength}) + payloads (${payloadBytes}) != output length ${totalLength}`);
  if (cursor !== dataLimit) bad(`chunks end at ${cursor}, but the trailer starts at ${dataLimit}`);
  return { format, files, totalLength, skeleton, tensors, dataStart, dataEnd: cursor };
}

/** File names in a multi-file model must be plain relative paths: no '..', no absolute paths, no backslashes. */
export function checkRelativePath(name: string, file?: string): void {
  const parts = name.split('/');
  if (
    name === '' ||
    name.startsWith('/') ||
    name.includes('\\') ||
    name.includes('\0') ||
    parts.some((p) => p === '' || p === '.' || p === '..')
  )
    fail('E_CORRUPT', `.mpz index: file name '${name}' is not a plain relative path`, file);
}

/** Largest decoded index accepted (bytes). */
const MAX_INDEX_BYTES = 256 * 1024 * 1024;

/**
 * The stored index section: u8 coder (0 raw, 1 generic bytes, 10 lz), varuint
 * decoded length, then the (coded) index. The generic coder is used while the
 * index fits `genericLeft` (what the file's chunks left of MAX_GENERIC_BYTES),
 * lz beyond; raw when neither is smaller.
 */
export function encodeIndexSection(index: Uint8Array, genericLeft: number = MAX_GENERIC_BYTES): Uint8Array {
  let coder: number = CODER.raw;
  let body = index;
  if (index.length <= genericLeft) {
    const cm = encodeBytes(index);
    if (cm.length < body.length) {
      coder = CODER.bytes;
      body = cm;
    }
  } else {
    const lz = encodeLz(index);
    if (lz.length < body.length) {
      coder = CODER.lz;
      body = lz;
    }
  }
  const w = new ByteWriter(body.length + 8);
  w.u8(coder);
  w.varuint(index.length);
  w.bytes(body);
  return w.finish();
}

/** Generic-coder bytes a stored index section decodes (its length when coder 1, else 0); 0 for a section too short to say. */
export function indexGenericBytes(section: Uint8Array): number {
  if (section.length < 2 || section[0] !== CODER.bytes) return 0;
  try {
    const r = new ByteReader(section, '.mpz index section', 1);
    return r.varuint();
  } catch {
    return 0;
  }
}

/** Decodes the stored index section (its CRC already checked). */
export function decodeIndexSection(
  section: Uint8Array,
  file?: string,
  maxOutput: number = MAX_INDEX_BYTES,
  maxGeneric: number = MAX_GENERIC_BYTES,
): Uint8Array {
  const r = new ByteReader(section, '.mpz index section');
  let coder: number;
  let length: number;
  try {
    coder = r.u8();
    length = r.varuint();
  } catch (e) {
    return fail('E_CORRUPT', e instanceof Error ? e.message : String(e), file);
  }
  if (length > MAX_INDEX_BYTES) fail('E_UNSUPPORTED', `.mpz index of ${length} bytes exceeds ${MAX_INDEX_BYTES}`, file);
  if (length > maxOutput) fail('E_LIMIT', `.mpz index of ${length} bytes exceeds the output limit of ${maxOutput} bytes`, file);
  const body = section.subarray(r.pos);
  if (coder === CODER.bytes && length > body.length * BYTES_MAX_EXPANSION)
    fail('E_LIMIT', `.mpz index claims ${length} bytes from ${body.length} coded bytes (at most ${BYTES_MAX_EXPANSION} per byte)`, file);
  if (coder === CODER.bytes && length > maxGeneric)
    fail(
      'E_LIMIT',
      `.mpz index claims ${length} bytes of the generic (context-mixing) coder, over the limit of ${maxGeneric} (--max-cm-bytes or maxGenericBytes lifts it)`,
      file,
    );
  if (coder === CODER.raw) {
    if (body.length !== length) fail('E_CORRUPT', `.mpz raw index holds ${body.length} bytes, declares ${length}`, file);
    return body;
  }
  if (coder !== CODER.bytes && coder !== CODER.lz) fail('E_UNSUPPORTED', `.mpz index uses unknown coder id ${coder}`, file);
  try {
    const out = coder === CODER.lz ? decodeLz(body, length) : decodeBytes(body, length);
    if (out.length !== length) fail('E_CORRUPT', `.mpz index decoded to ${out.length} bytes, expected ${length}`, file);
    return out;
  } catch (e) {
    if (e instanceof ModelpressError) return fail(e.code, `.mpz index: ${e.message}`, file);
    return fail('E_CORRUPT', `.mpz index does not decode: ${e instanceof Error ? e.message : String(e)}`, file);
  }
}
