/**
 * Decoder limits (issue 12, rows 1-2): hand-built hostile .mpz files whose
 * checksums are all valid, so only the size checks stand between a tiny file
 * and gigabytes of output or minutes of decoding.
 */
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../src/codec/checksum.js';
import { ByteWriter } from '../../src/codec/bytes.js';
import { BYTES_MAX_EXPANSION, decodeBytes, encodeBytes } from '../../src/codec/bytecoder.js';
import { CODER } from '../../src/codec/container/coders.js';
import {
  HEADER_BYTES,
  MAX_CHUNK_BYTES,
  TRAILER_BYTES,
  defaultMaxOutput,
  writeHeader,
  writeTrailer,
} from '../../src/codec/container/format.js';
import { type MpzIndex, type StreamDesc, type TensorEntry, writeIndex } from '../../src/codec/container/index-codec.js';
import { openMpz, packModel, readTensor, unpackModel, unpackStream } from '../../src/codec/container/index.js';
import { decodeHuffman, encodeHuffman } from '../../src/codec/huffman.js';
import { isModelpressError } from '../../src/core/errors.js';
import { pieceStream } from './container-helpers.js';

/** An .mpz from an index and its chunks' encoded bytes (CRCs appended and recomputed); `section` overrides the stored index. */
function buildMpz(index: Omit<MpzIndex, 'dataStart' | 'dataEnd'>, chunks: Uint8Array[], section?: Uint8Array): Uint8Array {
  let body = section;
  if (!body) {
    const raw = writeIndex(index);
    const w = new ByteWriter();
    w.u8(CODER.raw);
    w.varuint(raw.length);
    w.bytes(raw);
    body = w.finish();
  }
  const area = chunks.reduce((n, c) => n + c.length + 4, 0);
  const fileLength = HEADER_BYTES + body.length + area + TRAILER_BYTES;
  const out = new Uint8Array(fileLength);
  const header = writeHeader(body.length, fileLength, crc32c(body));
  out.set(header, 0);
  out.set(body, HEADER_BYTES);
  let at = HEADER_BYTES + body.length;
  for (const c of chunks) {
    out.set(c, at);
    new DataView(out.buffer).setUint32(at + c.length, crc32c(c), true);
    at += c.length + 4;
  }
  out.set(writeTrailer(header), fileLength - TRAILER_BYTES);
  return out;
}

const stream = (coder: number, chunks: { count: number; encodedLength: number }[]): StreamDesc => ({
  coder,
  chunks: chunks.map((c) => ({ ...c, offset: 0 })),
});

/** One tensor of `elements` 4-bit (or uint8) elements, coded as a one-symbol Huffman codebook stream in `chunkCount` chunks. */
function huffmanBomb(dtypeId: 2 | 22, elements: number, chunkCount = 1): Uint8Array {
  const one = encodeHuffman(new Uint8Array(1), 1); // mode "one symbol": no data bits, any count
  const length = dtypeId === 22 ? elements / 2 : elements;
  const per = elements / chunkCount;
  const tensor: TensorEntry = {
    name: 'w',
    dtypeId,
    shape: [elements],
    offset: 0,
    length,
    crc: 0,
    encoding: {
      kind: 'codebook',
      entries: Uint8Array.of(0),
      size: 1,
      center: 0,
      stream: stream(
        CODER.huffman,
        Array.from({ length: chunkCount }, () => ({ count: per, encodedLength: one.length })),
      ),
    },
  };
  return buildMpz(
    { format: 'opaque', files: [{ name: '', length, crc: 0 }], totalLength: length, skeleton: stream(CODER.raw, []), tensors: [tensor] },
    Array.from({ length: chunkCount }, () => one),
  );
}

/** Runs `f`, which must throw a ModelpressError of `code` naming `file`, quickly and without a large allocation. */
async function expectBounded(f: () => unknown, code: string, file = 'bomb.mpz'): Promise<void> {
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  const ms = performance.now() - t0;
  const grew = process.memoryUsage().rss - rss0;
  expect(isModelpressError(err), String(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
  expect((err as { file?: string }).file).toBe(file);
  expect(ms).toBeLessThan(2000);
  expect(grew).toBeLessThan(300 * 1024 * 1024);
}

describe('.mpz decoder limits', () => {
  const file = 'bomb.mpz';

  it('row 1: a one-symbol Huffman codebook claiming 2^32 4-bit elements is refused before allocation', async () => {
    const mpz = huffmanBomb(22, 2 ** 32);
    expect(mpz.length).toBeLessThan(200);
    await expectBounded(() => unpackModel(mpz, { file }), 'E_LIMIT');
    await expectBounded(() => openMpz(mpz, { file }), 'E_LIMIT');
    await expectBounded(() => readTensor(mpz, 'w', { file }), 'E_LIMIT');
    await expectBounded(() => unpackStream(pieceStream(mpz, mpz.length, 50), { file }), 'E_LIMIT');
    // a caller lifting the output limit still meets the chunk-size limit
    await expectBounded(() => unpackModel(mpz, { file, maxOutput: 2 ** 32 - 1 }), 'E_LIMIT');
  });

  it('row 1: 1 GiB of one-symbol uint8 chunks, each within the chunk size, is refused by the output limit', async () => {
    const mpz = huffmanBomb(2, 2 ** 30, 2 ** 30 / MAX_CHUNK_BYTES);
    expect(defaultMaxOutput(mpz.length)).toBeLessThan(2 ** 30);
    await expectBounded(() => unpackModel(mpz, { file }), 'E_LIMIT');
    // within an explicit limit the same claims pass validation (and fail later, on the bogus CRCs)
    expect(() => openMpz(mpz, { file, maxOutput: 2 ** 30 })).not.toThrow();
  });

  it('row 2: an index claiming 256 MiB of generic-coded zeros is refused before it is decoded', async () => {
    const zeros = encodeBytes(new Uint8Array(4096));
    const w = new ByteWriter();
    w.u8(CODER.bytes);
    w.varuint(256 * 1024 * 1024);
    w.bytes(zeros);
    const empty = { format: 'opaque', files: [], totalLength: 0, skeleton: stream(CODER.raw, []), tensors: [] } as const;
    const mpz = buildMpz(empty, [], w.finish());
    await expectBounded(() => unpackModel(mpz, { file }), 'E_LIMIT');
    // beyond the coder's best ratio even when the output limit is lifted
    await expectBounded(() => unpackModel(mpz, { file, maxOutput: 2 ** 32 - 1 }), 'E_LIMIT');
  });

  it('row 2: a generic-coded skeleton chunk claiming more than the coder can expand is refused', async () => {
    const coded = encodeBytes(new Uint8Array(4096));
    const count = Math.min(MAX_CHUNK_BYTES, coded.length * BYTES_MAX_EXPANSION + 1);
    const mpz = buildMpz(
      {
        format: 'opaque',
        files: [{ name: '', length: count, crc: 0 }],
        totalLength: count,
        skeleton: stream(CODER.bytes, [{ count, encodedLength: coded.length }]),
        tensors: [],
      },
      [coded],
    );
    await expectBounded(() => unpackModel(mpz, { file, maxOutput: 2 ** 32 - 1 }), 'E_LIMIT');
  });

  it('the coders themselves refuse impossible counts before allocating', () => {
    const zeros = encodeBytes(new Uint8Array(4096));
    expect(() => decodeBytes(zeros, 2 ** 31)).toThrow(expect.objectContaining({ code: 'E_LIMIT' }));
    expect(decodeBytes(zeros, 4096)).toEqual(new Uint8Array(4096));
    const coded = encodeHuffman(Uint8Array.of(0, 1, 1, 0, 1), 2);
    expect(() => decodeHuffman(coded, 2 ** 31)).toThrow(expect.objectContaining({ code: 'E_TRUNCATED' }));
  });

  it('legitimate files are far inside the default limit, and the writer refuses chunks a reader would refuse', () => {
    const data = new Uint8Array(64 * 1024); // all zeros: the best case of every coder
    const { bytes } = packModel({ format: 'opaque', files: [{ name: '', bytes: data }] });
    expect(unpackModel(bytes).files[0]!.bytes).toEqual(data);
    expect(() => packModel({ format: 'opaque', files: [{ name: '', bytes: data }] }, { chunkBytes: MAX_CHUNK_BYTES * 2 })).toThrow(
      expect.objectContaining({ code: 'E_ARG' }),
    );
    expect(() => unpackModel(bytes, { maxOutput: data.length - 1 })).toThrow(expect.objectContaining({ code: 'E_LIMIT' }));
  });
});
