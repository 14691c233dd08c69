/**
 * Decoder limits (issue 12, rows 1-2): hand-built hostile .mpz files whose
 * checksums are all valid, so only the size checks stand between a tiny file
 * and gigabytes of output or minutes of decoding.
 */
import { describe, expect, it } from 'vitest';
import { BYTES_MAX_EXPANSION, decodeBytes, encodeBytes } from '../../src/codec/bytecoder.js';
import { CODER } from '../../src/codec/container/coders.js';
import {
  HEADER_BYTES,
  MAX_CHUNK_BYTES,
  MAX_GENERIC_BYTES,
  defaultMaxOutput,
  readHeader,
  writeHeader,
} from '../../src/codec/container/format.js';
import { genericWork } from '../../src/codec/container/index-codec.js';
import { openMpz, openMpzRanged, packModel, readTensor, unpackModel, unpackStream } from '../../src/codec/container/index.js';
import { decodeHuffman, encodeHuffman } from '../../src/codec/huffman.js';
import { isModelpressError } from '../../src/core/errors.js';
import { pieceStream } from './container-helpers.js';
import { buildMpz, huffmanBomb, indexBomb, stream } from '../../support/mpz-bombs.js';

/**
 * Runs `f`, which must throw a ModelpressError of `code` naming `file` without a large allocation (the test's
 * timeout is the hang detector; speed is printed by test/hostile/corpus.test.ts, not asserted).
 */
async function expectBounded(f: () => unknown, code: string, file = 'bomb.mpz'): Promise<void> {
  const rss0 = process.memoryUsage().rss;
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  const grew = process.memoryUsage().rss - rss0;
  expect(isModelpressError(err), String(err)).toBe(true);
  expect((err as { code: string }).code, String(err)).toBe(code);
  expect((err as { file?: string }).file).toBe(file);
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
    // 140 KB that truly decode to 256 MiB of zeros (minutes of work): refused by the default output limit
    const real = indexBomb(256 * 1024 * 1024, 140_000);
    expect(defaultMaxOutput(real.length)).toBeLessThan(256 * 1024 * 1024);
    await expectBounded(() => unpackModel(real, { file }), 'E_LIMIT');
    // 4 KB claiming the same: beyond the coder's best ratio, refused even when the output limit is lifted
    const tiny = indexBomb(256 * 1024 * 1024, 4096);
    await expectBounded(() => unpackModel(tiny, { file, maxOutput: 2 ** 32 - 1 }), 'E_LIMIT');
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

  it('row 2: 200 KB of generic-coded skeleton chunks claiming 100 MiB, each within the old per-chunk bounds, is refused at once', async () => {
    // every chunk is 8 KB of range-coded zeros, whose first ~2 KB really decode to the claimed 4 MiB (~2000x, inside
    // the 2840x bound and the chunk limit), and the 100 MiB total is inside the default output limit: before the
    // per-file cap on the generic coder's work the reader spent ~8 s on the first chunk alone (then refused its
    // unread tail); chunks cut to what they consume would have kept it busy for minutes
    const body = new Uint8Array(8192);
    body[0] = 1; // byte coder mode 1: range-coded
    const n = 25;
    const total = n * MAX_CHUNK_BYTES;
    const mpz = buildMpz(
      {
        format: 'opaque',
        files: [{ name: '', length: total, crc: 0 }],
        totalLength: total,
        skeleton: stream(
          CODER.bytes,
          Array.from({ length: n }, () => ({ count: MAX_CHUNK_BYTES, encodedLength: body.length })),
        ),
        tensors: [],
      },
      Array.from({ length: n }, () => body),
    );
    expect(mpz.length).toBeLessThan(210_000);
    expect(total).toBeLessThan(defaultMaxOutput(mpz.length));
    expect(MAX_CHUNK_BYTES).toBeLessThan(body.length * BYTES_MAX_EXPANSION);
    await expectBounded(() => unpackModel(mpz, { file }), 'E_LIMIT');
    await expectBounded(() => openMpz(mpz, { file }), 'E_LIMIT');
    await expectBounded(() => unpackStream(pieceStream(mpz, mpz.length, 50), { file }), 'E_LIMIT');
    // the cap is the caller's to lift: the claims then pass validation
    expect(() => openMpz(mpz, { file, maxGenericBytes: total })).not.toThrow();
  });

  it('row 2: a 200 KB index claiming 100 MiB of the generic coder is refused before decoding', async () => {
    const mpz = indexBomb(100 * 1024 * 1024, 200_000);
    expect(100 * 1024 * 1024).toBeLessThan(defaultMaxOutput(mpz.length));
    await expectBounded(() => unpackModel(mpz, { file }), 'E_LIMIT');
    await expectBounded(() => openMpzRanged(async (offset, length) => mpz.subarray(offset, offset + length), { file }), 'E_LIMIT');
  });

  it('row 2: signlz sign sections count toward the generic coder cap', async () => {
    // float32 tensor chunks of signlz (their sign bits are generic-coded): 25 x 4 MiB claims 3.1 MiB of signs
    const n = 25;
    const total = n * MAX_CHUNK_BYTES;
    const chunk = new Uint8Array(64);
    const tensor = {
      name: 'w',
      dtypeId: 1,
      shape: [total / 4],
      offset: 0,
      length: total,
      crc: 0,
      encoding: {
        kind: 'direct' as const,
        stream: stream(
          CODER.signlzF32,
          Array.from({ length: n }, () => ({ count: MAX_CHUNK_BYTES, encodedLength: chunk.length })),
        ),
      },
    };
    const mpz = buildMpz(
      {
        format: 'opaque',
        files: [{ name: '', length: total, crc: 0 }],
        totalLength: total,
        skeleton: stream(CODER.raw, []),
        tensors: [tensor],
      },
      Array.from({ length: n }, () => chunk),
    );
    expect(n * genericWork(CODER.signlzF32, MAX_CHUNK_BYTES)).toBeGreaterThan(MAX_GENERIC_BYTES);
    await expectBounded(() => openMpz(mpz, { file }), 'E_LIMIT');
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

  /** `mpz` with its header (not its trailer) claiming `fileLength`: a stream or range reader cannot tell until the end. */
  function claimLength(mpz: Uint8Array, fileLength: number): Uint8Array {
    const h = readHeader(mpz.subarray(0, HEADER_BYTES));
    const out = mpz.slice();
    out.set(writeHeader(h.indexLength, fileLength, h.indexCrc), 0);
    return out;
  }

  it('streaming: a header claiming a huge file length does not raise the output limit; it follows the bytes received', async () => {
    // 1 GiB of one-symbol uint8 chunks in a few KB, and a last 8 MiB chunk that never arrives: the claimed
    // file length (which the index agrees with) would allow 2 GiB of output
    const one = encodeHuffman(new Uint8Array(1), 1);
    const n = 2 ** 30 / MAX_CHUNK_BYTES;
    const late = 8 * 1024 * 1024;
    const chunks = [
      ...Array.from({ length: n }, () => ({ count: MAX_CHUNK_BYTES, encodedLength: one.length })),
      { count: 1, encodedLength: late },
    ];
    chunks[0]!.count--;
    const sent = buildMpz(
      {
        format: 'opaque',
        files: [{ name: '', length: 2 ** 30, crc: 0 }],
        totalLength: 2 ** 30,
        skeleton: stream(CODER.raw, []),
        tensors: [
          {
            name: 'w',
            dtypeId: 2,
            shape: [2 ** 30],
            offset: 0,
            length: 2 ** 30,
            crc: 0,
            encoding: { kind: 'codebook', entries: Uint8Array.of(0), size: 1, center: 0, stream: stream(CODER.huffman, chunks) },
          },
        ],
      },
      Array.from({ length: n }, () => one),
    );
    const mpz = claimLength(sent, sent.length + late + 4).subarray(0, sent.length - 8);
    expect(mpz.length).toBeLessThan(64 * 1024);
    expect(defaultMaxOutput(sent.length + late)).toBeGreaterThan(2 ** 30);
    await expectBounded(() => unpackStream(pieceStream(mpz, mpz.length, 50), { file }), 'E_LIMIT');
    // an explicit limit is the caller's word: the claims pass and the stream then ends early
    await expect(unpackStream(pieceStream(mpz, mpz.length, 50), { file, maxOutput: 2 ** 30 })).rejects.toMatchObject({
      code: 'E_TRUNCATED',
    });
  });

  it('ranged: a header claiming a huge file length fails on the real size (the trailer read) before the index is decoded', async () => {
    const real = indexBomb(256 * 1024 * 1024, 140_000);
    const mpz = claimLength(real, 8 * 1024 * 1024);
    let ranges = 0;
    await expectBounded(
      () =>
        openMpzRanged(
          async (offset, length) => {
            ranges++;
            return mpz.subarray(offset, offset + length);
          },
          { file },
        ),
      'E_TRUNCATED',
    );
    expect(ranges).toBe(3); // header, index, trailer: nothing decoded
  });
});
