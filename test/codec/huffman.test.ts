import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeHuffman, decodeHuffmanReference, encodeHuffman, huffmanCodeLengths } from '../../src/codec/huffman.js';
import { buildMultiTable, buildTables, decodeSymbols, MAX_MULTI_BITS } from '../../src/codec/huffman-fast-decode.js';
import { MODE_CODED, parseHeader } from '../../src/codec/huffman-header.js';
import { expectModelpressError, fromHex, fuzzDecoder, hex, laplaceInts } from './helpers.js';

function roundTrip(symbols: Uint8Array | Uint16Array | Uint32Array, alphabet: number): void {
  const enc = encodeHuffman(symbols, alphabet);
  const fast = decodeHuffman(enc, symbols.length);
  const slow = decodeHuffmanReference(enc, symbols.length);
  expect(Array.from(fast)).toEqual(Array.from(symbols));
  expect(Array.from(slow)).toEqual(Array.from(symbols));
}

/** Kraft sum of the lengths (1 for a complete code). */
function kraft(lengths: Uint8Array): number {
  return lengths.reduce((a, l) => (l > 0 ? a + 2 ** -l : a), 0);
}

describe('huffmanCodeLengths (package-merge)', () => {
  it('is optimal on a textbook case', () => {
    expect(Array.from(huffmanCodeLengths([5, 9, 12, 13, 16, 45]))).toEqual([4, 4, 3, 3, 3, 1]);
  });

  it('limits lengths and stays complete on Fibonacci frequencies', () => {
    const fib = [1, 1];
    while (fib.length < 30) fib.push(fib[fib.length - 1]! + fib[fib.length - 2]!);
    const unlimited = huffmanCodeLengths(fib, 32);
    expect(Math.max(...unlimited)).toBe(29);
    const limited = huffmanCodeLengths(fib, 15);
    expect(Math.max(...limited)).toBe(15);
    expect(kraft(limited)).toBe(1);
  });

  it('gives complete prefix codes for random frequencies', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 1_000_000 }), { minLength: 2, maxLength: 300 }), (freqs) => {
        const lengths = huffmanCodeLengths(freqs, 15);
        const used = freqs.filter((f) => f > 0).length;
        if (used >= 2) expect(kraft(lengths)).toBe(1);
        expect(Math.max(...lengths)).toBeLessThanOrEqual(15);
        freqs.forEach((f, s) => expect(lengths[s]! > 0).toBe(f > 0));
      }),
    );
  });
});

describe('encodeHuffman / decodeHuffman', () => {
  it('golden bytes', () => {
    const symbols = Uint8Array.of(0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 0);
    expect(hex(encodeHuffman(symbols, 6))).toBe('0602000400000041103e01fbab0006');
    expect(Array.from(decodeHuffman(fromHex('0602000400000041103e01fbab0006'), 16))).toEqual(Array.from(symbols));
    expect(hex(encodeHuffman(Uint8Array.of(5, 5, 5), 6))).toBe('060105');
    expect(hex(encodeHuffman(new Uint8Array(0), 300))).toBe('ac0200');
  });

  it('round-trips empty, one-symbol, random and skewed streams (fast == reference)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.array(fc.nat(), { maxLength: 2000 }),
        fc.integer({ min: 0, max: 3 }),
        (alphabet, raw, shape) => {
          // shape 0 uniform, 1 one symbol, 2 skewed (geometric), 3 two symbols
          const symbols = new Uint16Array(raw.length);
          raw.forEach((r, i) => {
            symbols[i] =
              shape === 0
                ? r % alphabet
                : shape === 1
                  ? alphabet - 1
                  : shape === 2
                    ? Math.min(alphabet - 1, Math.clz32(r | 1) - 1)
                    : r % Math.min(2, alphabet);
          });
          roundTrip(alphabet <= 256 ? Uint8Array.from(symbols) : symbols, alphabet);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('handles extreme skew (codes of 15 bits) and big alphabets', () => {
    const n = 100_000;
    const s = new Uint32Array(n);
    for (let i = 0; i < n; i++) s[i] = i % 5000 === 0 ? 1 + (i % 70000) : 0; // one symbol ~99.98%
    roundTrip(s, 70001);
    const fib: number[] = [];
    const fibF = [1, 1];
    while (fibF.length < 25) fibF.push(fibF[fibF.length - 1]! + fibF[fibF.length - 2]!);
    fibF.forEach((f, sym) => {
      for (let k = 0; k < f; k++) fib.push(sym);
    });
    roundTrip(Uint8Array.from(fib.slice(0, 200_000)), 25);
  });

  it('round-trips quantized-weight-like bytes (fast multi-symbol path == reference)', () => {
    const q = laplaceInts(200_003, 6, 7);
    const sym = Uint8Array.from(q, (v) => Math.max(0, Math.min(255, v + 128)));
    roundTrip(sym, 256);
  });

  it('rejects symbols outside the alphabet and bad alphabets', () => {
    expectModelpressError(() => encodeHuffman(Uint8Array.of(4), 4), ['E_ARG']);
    expectModelpressError(() => encodeHuffman(Uint8Array.of(0), 0), ['E_ARG']);
  });

  it('rejects malformed headers', () => {
    expectModelpressError(() => decodeHuffman(fromHex('0603'), 1), ['E_CORRUPT']); // unknown mode
    expectModelpressError(() => decodeHuffman(fromHex('060107'), 1), ['E_CORRUPT']); // single symbol outside alphabet
    expectModelpressError(() => decodeHuffman(fromHex('0600'), 1), ['E_CORRUPT']); // empty stream, count 1
    expectModelpressError(() => decodeHuffman(fromHex('00'), 1), ['E_CORRUPT', 'E_TRUNCATED']); // alphabet 0
    // code-length code with every length 7: over-subscribed
    expectModelpressError(() => decodeHuffman(fromHex('0602ffffffffffffffff'), 1), ['E_CORRUPT']);
  });

  it('throws on every truncation and never misbehaves on bit flips', () => {
    const q = laplaceInts(300, 3, 11);
    const sym = Uint8Array.from(q, (v) => Math.max(0, Math.min(63, v + 32)));
    const enc = encodeHuffman(sym, 64);
    fuzzDecoder(enc, (b) => decodeHuffman(b, sym.length), sym.length);
    fuzzDecoder(enc, (b) => decodeHuffmanReference(b, sym.length), sym.length, 7);
  });

  it('decodes the fast byte path (>= 8192 symbols) like the reference, and rejects its truncations', () => {
    const q = laplaceInts(9000, 20, 5);
    const sym = Uint8Array.from(q, (v) => Math.max(0, Math.min(255, v + 128)));
    roundTrip(sym, 256);
    const enc = encodeHuffman(sym, 256);
    // Every cut (a decode is ~50 us here) and every 5th bit flip.
    fuzzDecoder(enc, (b) => decodeHuffman(b, sym.length), sym.length, 5);
  });
});

/** Runs the table decoders directly, with an optional multi-symbol table and span size. */
function decodeDirect(enc: Uint8Array, count: number, multiBits: number | undefined, spanBytes?: number, dropLastDataByte = false) {
  const h = parseHeader(enc, 'test stream');
  const tables = buildTables(h.lengths);
  const bytes = dropLastDataByte ? enc.subarray(0, enc.length - 1) : enc;
  const out = new Uint8Array(count);
  const bits = decodeSymbols(
    bytes,
    h.dataStart,
    out,
    tables,
    multiBits === undefined ? undefined : buildMultiTable(tables, multiBits),
    multiBits ?? 0,
    spanBytes,
  );
  return { out, bits, dataBytes: bytes.length - h.dataStart, lengths: h.lengths };
}

describe('table decoders (decodeSymbols)', () => {
  it('decode every count with or without multi-symbol tables, across span rebases, consuming exactly the coded bits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 256 }),
        fc.array(fc.nat(), { minLength: 2, maxLength: 1500 }),
        fc.boolean(),
        fc.option(fc.integer({ min: 1, max: MAX_MULTI_BITS }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
        (alphabet, raw, skewed, multiBits, spanBytes) => {
          const sym = Uint8Array.from(raw, (r) => (skewed ? Math.min(alphabet - 1, Math.clz32(r | 1) - 1) : r % alphabet));
          const enc = encodeHuffman(sym, alphabet);
          if (parseHeader(enc, 'test stream').mode !== MODE_CODED) return;
          const { out, bits, dataBytes, lengths } = decodeDirect(enc, sym.length, multiBits, spanBytes);
          expect(Array.from(out)).toEqual(Array.from(sym));
          const codedBits = sym.reduce((a, s) => a + lengths[s]!, 0);
          expect(bits).toBe(codedBits);
          expect(Math.ceil(bits / 8)).toBe(dataBytes);
          // Without its last byte the data always runs out (that byte holds at least one code bit).
          const cut = decodeDirect(enc, sym.length, multiBits, spanBytes, true);
          expect(cut.bits).toBeGreaterThan(cut.dataBytes * 8);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rebase spans on a long stream with 15-bit codes', () => {
    const fibF = [1, 1];
    while (fibF.length < 25) fibF.push(fibF[fibF.length - 1]! + fibF[fibF.length - 2]!);
    const sym: number[] = [];
    fibF.forEach((f, s) => {
      for (let k = 0; k < Math.min(f, 3000); k++) sym.push(s);
    });
    // Interleave so long and short codes alternate.
    const mixed = Uint8Array.from(sym.map((_, i) => sym[(i * 7919) % sym.length]!));
    const enc = encodeHuffman(mixed, 25);
    expect(Math.max(...parseHeader(enc, 'test stream').lengths)).toBe(15);
    for (const span of [1, 2, 3, 7, 1000]) {
      for (const multiBits of [undefined, 11, MAX_MULTI_BITS]) {
        const { out } = decodeDirect(enc, mixed.length, multiBits, span);
        expect(Array.from(out)).toEqual(Array.from(mixed));
      }
    }
  });
});
