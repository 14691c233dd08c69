import fc from 'fast-check';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/codec/bytes.js';
import { encodeHuffman } from '../../src/codec/huffman.js';
import { decodeLz, encodeLz, LZ_MIN_MATCH, VALUE_CODES } from '../../src/codec/lz.js';
import { expectModelpressError, fuzzDecoder, hex, rng } from './helpers.js';

/** `unit` repeated `k` times. */
function repeat(unit: Uint8Array, k: number): Uint8Array {
  const out = new Uint8Array(unit.length * k);
  for (let i = 0; i < k; i++) out.set(unit, i * unit.length);
  return out;
}

function roundTrip(bytes: Uint8Array): Uint8Array {
  const enc = encodeLz(bytes);
  expect(enc.length).toBeLessThanOrEqual(bytes.length + 1);
  const back = decodeLz(enc, bytes.length);
  expect(back.length).toBe(bytes.length);
  if (bytes.length <= 10_000) expect(hex(back)).toBe(hex(bytes));
  else expect(Buffer.compare(back, bytes)).toBe(0);
  return enc;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Hand-made coded streams: sequences (run, match length, offset value: 0-2 recent distances, else distance + 2) over `lits`. */
function craft(seqs: [number, number, number][], lits: Uint8Array, extra: Uint8Array = new Uint8Array(0)): Uint8Array {
  const w = new ByteWriter();
  w.u8(1);
  w.varuint(seqs.length);
  w.varuint(lits.length);
  const section = (h: Uint8Array): void => {
    w.varuint(h.length);
    w.bytes(h);
  };
  section(encodeHuffman(lits, 256));
  section(
    encodeHuffman(
      Uint8Array.from(seqs, (s) => s[0]),
      VALUE_CODES,
    ),
  );
  section(
    encodeHuffman(
      Uint8Array.from(seqs, (s) => s[1] - LZ_MIN_MATCH),
      VALUE_CODES,
    ),
  );
  section(
    encodeHuffman(
      Uint8Array.from(seqs, (s) => s[2]),
      VALUE_CODES,
    ),
  );
  w.bytes(extra);
  return w.finish();
}

describe('encodeLz / decodeLz', () => {
  it('round-trips random, text-like, repetitive, empty and 1-byte inputs', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 5000 }),
          fc
            .array(fc.constantFrom(...'onnx::Conv_12 weight bias "dtype":"F32" '.split(' ')), { maxLength: 800 })
            .map((a) => text(a.join(' '))),
          fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 400 })).map(([u, k]) => repeat(u, k)),
          // mostly one byte with rare others: long overlapping copies broken up at random
          fc
            .array(fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 255 })), { maxLength: 6000 })
            .map((a) => Uint8Array.from(a)),
        ),
        (bytes) => {
          roundTrip(bytes);
        },
      ),
      { numRuns: 300 },
    );
    roundTrip(new Uint8Array(0));
    roundTrip(Uint8Array.of(7));
  });

  it('codes long and overlapping matches compactly: runs of one byte, short periods, a far repeat', () => {
    expect(roundTrip(new Uint8Array(4 << 20)).length).toBeLessThan(64); // one literal, one overlapping copy of 4 MiB - 1
    expect(roundTrip(repeat(text('abc'), 100_000)).length).toBeLessThan(64); // period 3 < match length
    const r = rng(5);
    const block = Uint8Array.from({ length: 200_000 }, () => (r() * 256) | 0);
    const twice = new Uint8Array(400_000);
    twice.set(block, 0);
    twice.set(block, 200_000); // one match 200 KB back, 200 KB long
    expect(roundTrip(twice).length).toBeLessThan(200_000 + 1000);
  });

  it('stores incompressible input with one byte of overhead', () => {
    const r = rng(9);
    const noise = Uint8Array.from({ length: 100_000 }, () => (r() * 256) | 0);
    expect(roundTrip(noise).length).toBe(noise.length + 1);
  });

  it('compresses structured text at least as well as deflate -6 does, within 10%', () => {
    const entries: string[] = [];
    for (let i = 0; i < 3000; i++)
      entries.push(`"layer.${i}.weight":{"dtype":"F32","shape":[${i % 17},4],"data_offsets":[${16 * i},${16 * i + 16}]}`);
    const json = text(`{${entries.join(',')}}`);
    const lz = roundTrip(json).length;
    const deflate = deflateRawSync(json, { level: 6 }).length;
    expect(lz).toBeLessThan(deflate * 1.1);
    expect(lz).toBeLessThan(json.length / 5);
  });

  it('every truncation and bit flip gives a ModelpressError or the declared length, never a crash', () => {
    const r = rng(3);
    const words = ['conv', 'weight', 'bias', '.', '_', '12', 'onnx::', 'Relu', '\0\0\0\0'];
    const parts: string[] = [];
    for (let i = 0; i < 300; i++) parts.push(words[(r() * words.length) | 0]!);
    const bytes = text(parts.join(''));
    const enc = encodeLz(bytes);
    expect(enc[0]).toBe(1); // coded, not stored
    fuzzDecoder(enc, (b) => decodeLz(b, bytes.length), bytes.length, 3);
    // the wrong declared length
    expectModelpressError(() => decodeLz(enc, bytes.length + 1), ['E_CORRUPT', 'E_TRUNCATED']);
    expectModelpressError(() => decodeLz(enc, bytes.length - 1), ['E_CORRUPT', 'E_TRUNCATED']);
  });

  it('refuses hand-made streams that copy from before the start, run past the end or leave literals over', () => {
    const lits = text('abcd');
    // valid: "ab" then 6 bytes copied 2 back ("ababab"), then "cd"
    expect(new TextDecoder().decode(decodeLz(craft([[2, 6, 4]], lits), 10))).toBe('abababab' + 'cd');
    // recent distances: "ab", 4 from 2 back, "c", 4 from 1 back, "d", 4 from the second most recent (2) back
    expect(
      new TextDecoder().decode(
        decodeLz(
          craft(
            [
              [2, 4, 4],
              [1, 4, 3],
              [1, 4, 1],
            ],
            lits,
          ),
          16,
        ),
      ),
    ).toBe('ababab' + 'cccccdcdcd');
    expectModelpressError(() => decodeLz(craft([[2, 6, 5]], lits), 10), ['E_CORRUPT']); // 3 back from byte 2
    for (const rep of [0, 1, 2]) expectModelpressError(() => decodeLz(craft([[1, 6, rep]], lits), 10), ['E_CORRUPT']); // no distance yet
    expectModelpressError(() => decodeLz(craft([[2, 6, 4]], lits), 9), ['E_CORRUPT']); // one byte too many
    expectModelpressError(() => decodeLz(craft([[2, 6, 4]], lits), 11), ['E_CORRUPT']); // a literal missing
    expectModelpressError(() => decodeLz(craft([[5, 4, 3]], lits), 12), ['E_CORRUPT']); // more literals than stored
    // a length code that needs extra bits the stream does not have
    expectModelpressError(() => decodeLz(craft([[2, LZ_MIN_MATCH + 40, 3]], lits), 100), ['E_TRUNCATED']);
    expectModelpressError(() => decodeLz(Uint8Array.of(7), 1), ['E_CORRUPT']); // unknown mode
    expectModelpressError(() => decodeLz(new Uint8Array(0), 0), ['E_TRUNCATED']);
    expectModelpressError(() => decodeLz(Uint8Array.of(0, 1, 2), 3), ['E_TRUNCATED']); // stored, one byte short
  });

  it('refuses sequence and literal counts the output cannot hold before allocating for them', () => {
    const w = new ByteWriter();
    w.u8(1);
    w.varuint(2 ** 40); // sequences
    w.varuint(0);
    expectModelpressError(() => decodeLz(w.finish(), 1000), ['E_CORRUPT']);
    const v = new ByteWriter();
    v.u8(1);
    v.varuint(0);
    v.varuint(2 ** 40); // literals
    expectModelpressError(() => decodeLz(v.finish(), 1000), ['E_CORRUPT']);
    // a million free sequences (one-symbol Huffman streams cost no bits) from a few bytes: beyond 8 per coded byte
    const seqs = craft([[1, 4, 3]], Uint8Array.of(0));
    const u = new ByteWriter();
    u.u8(1);
    u.varuint(1 << 20);
    u.bytes(seqs.subarray(2));
    expectModelpressError(() => decodeLz(u.finish(), 8 << 20), ['E_CORRUPT']);
    // 100 MB of free literals (a one-symbol literal stream) from a few bytes: the same bound, before any buffer
    const lits = new ByteWriter();
    lits.u8(1);
    lits.varuint(0);
    lits.varuint(100e6);
    const one = encodeHuffman(Uint8Array.of(7), 256);
    lits.varuint(one.length);
    lits.bytes(one);
    for (let k = 0; k < 3; k++) lits.bytes(Uint8Array.of(2, 68, 0)); // empty code streams (alphabet 68)
    const rss = process.memoryUsage().rss;
    expectModelpressError(() => decodeLz(lits.finish(), 100e6), ['E_CORRUPT']);
    expect(process.memoryUsage().rss - rss).toBeLessThan(50e6);
  });
});
