import { describe, expect, it } from 'vitest';
import { byteEncoder, indexEncoder } from '../../src/codec/container/coder-encoders.js';
import { CODER, CODERS, CODER_NAMES, coderTraits, floatCoderFor } from '../../src/codec/container/coders.js';
import { decodeByteChunk, decodeIndexChunk } from '../../src/codec/container/decode-chunk.js';

describe('coder table', () => {
  it('keeps the on-disk ids and names of docs/FORMAT.md', () => {
    expect(CODER_NAMES).toEqual([
      'raw',
      'bytes',
      'floatplanes-f32',
      'floatplanes-f16',
      'floatplanes-bf16',
      'huffman',
      'cabac',
      'sparse+huffman',
      'sparse+cabac',
      'signlz-f32',
      'lz',
      'fastfloat',
    ]);
    expect(CODER).toEqual({
      raw: 0,
      bytes: 1,
      floatF32: 2,
      floatF16: 3,
      floatBF16: 4,
      huffman: 5,
      cabac: 6,
      sparseHuffman: 7,
      sparseCabac: 8,
      signlzF32: 9,
      lz: 10,
      fastFloat: 11,
    });
    CODERS.forEach((c, i) => {
      expect(c.id).toBe(i);
    });
    expect(coderTraits(CODERS.length)).toBeUndefined();
  });

  it('finds the floatplanes coder of each float dtype', () => {
    expect(floatCoderFor('float32')).toBe(CODER.floatF32);
    expect(floatCoderFor('float16')).toBe(CODER.floatF16);
    expect(floatCoderFor('bfloat16')).toBe(CODER.floatBF16);
    expect(floatCoderFor('int8')).toBeUndefined();
  });

  it('round-trips a chunk through every coder of its kind', () => {
    const bytes = new Uint8Array(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 13 === 0 ? (i >> 3) & 255 : 0;
    const indices = new Int32Array(2048);
    for (let i = 0; i < indices.length; i++) indices[i] = i % 5 === 0 ? (i * 31) % 40 : 20;
    for (const c of CODERS) {
      if (c.output === 'bytes') {
        const enc = byteEncoder(c.id)(bytes, 'float32');
        if (enc === undefined) continue; // signlz declines a chunk without repeats
        expect(decodeByteChunk(c.id, enc, bytes.length), c.name).toEqual(bytes);
      } else {
        const enc = indexEncoder(c.id)(indices, 40, 20)!;
        expect(Array.from(decodeIndexChunk(c.id, enc, indices.length, 40, 20)), c.name).toEqual(Array.from(indices));
      }
    }
  });

  it('refuses a chunk of the wrong kind or an unknown id', () => {
    expect(() => decodeByteChunk(CODER.huffman, new Uint8Array(4), 4)).toThrow(/coder huffman does not produce bytes/);
    expect(() => decodeIndexChunk(CODER.raw, new Uint8Array(4), 4, 2, 0)).toThrow(/coder raw does not produce indices/);
    expect(() => decodeByteChunk(99, new Uint8Array(4), 4)).toThrow(/coder 99 does not produce bytes/);
  });
});
