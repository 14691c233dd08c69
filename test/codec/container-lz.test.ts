/**
 * The writer's choice between the generic context-mixing coder and lz: small
 * structure keeps the slow, stronger coder (and format 1.0); large skeletons,
 * indexes and integer payloads go through lz (format 1.1); no file the writer
 * emits asks a reader for more generic-coder work than MAX_GENERIC_BYTES.
 */
import { describe, expect, it } from 'vitest';
import { CODER } from '../../src/codec/container/coders.js';
import { HEADER_BYTES, MAX_GENERIC_BYTES, readHeader } from '../../src/codec/container/format.js';
import { genericWork, type MpzIndex } from '../../src/codec/container/index-codec.js';
import { openMpz, packModel, unpackModel } from '../../src/codec/container/index.js';
import { bytesOf, makeSafetensors, REAL_FIXTURES, readBytes, rng } from './container-helpers.js';

/** Generic-coder bytes a reader would be asked to decode for this file (index included). */
function genericTotal(mpz: Uint8Array, index: MpzIndex): number {
  let n = 0;
  if (mpz[HEADER_BYTES] === CODER.bytes) {
    // the index section's varuint length follows its coder byte
    let v = 0;
    let scale = 1;
    for (let p = HEADER_BYTES + 1; ; p++) {
      v += (mpz[p]! & 0x7f) * scale;
      scale *= 128;
      if (mpz[p]! < 0x80) break;
    }
    n += v;
  }
  for (const c of index.skeleton.chunks) n += genericWork(index.skeleton.coder, c.count);
  for (const t of index.tensors)
    if (t.encoding.kind !== 'dedup') for (const c of t.encoding.stream.chunks) n += genericWork(t.encoding.stream.coder, c.count);
  return n;
}

/** A safetensors file of `n` float32 tensors of one element each: all of it skeleton (payloads under 64 bytes stay there). */
function tinyTensors(n: number): Uint8Array {
  const r = rng(1);
  return makeSafetensors(
    Array.from({ length: n }, (_, i) => ({
      name: `model.layers.${i >> 5}.block.${i & 31}.weight`,
      dtype: 'F32',
      shape: [1],
      data: bytesOf(Float32Array.of(r())),
    })),
  );
}

describe('.mpz coder choice: generic (context mixing) vs lz', () => {
  it('a 2.4 MB safetensors header packs through lz, in format 1.1, and unpacks byte for byte', () => {
    const original = tinyTensors(34_000);
    expect(original.length).toBeGreaterThan(2_400_000);
    const { bytes, report } = packModel({ format: 'safetensors', files: [{ name: '', bytes: original }] });
    expect(report.skeleton.coder).toBe('lz');
    expect(report.skeleton.storedBytes).toBeLessThan(original.length / 5);
    expect(readHeader(bytes, bytes.length).minor).toBe(1);
    const index = openMpz(bytes);
    expect(genericTotal(bytes, index)).toBeLessThanOrEqual(MAX_GENERIC_BYTES);
    expect(Buffer.compare(unpackModel(bytes).files[0]!.bytes, original)).toBe(0);
  });

  it('a small ONNX model: lz skeleton and index by default, the generic coder for both with --smallest (genericStructure)', () => {
    const original = readBytes(REAL_FIXTURES[0]!);
    const input = { format: 'onnx' as const, files: [{ name: 'm.onnx', bytes: original }] };
    const fast = packModel(input);
    expect(fast.report.skeleton.coder).toBe('lz');
    expect(fast.bytes[HEADER_BYTES]).toBe(CODER.lz);
    expect(Buffer.compare(unpackModel(fast.bytes).files[0]!.bytes, original)).toBe(0);
    const { bytes, report } = packModel(input, { slowCoderMinGain: 0 });
    expect(report.skeleton.coder).toBe('bytes');
    expect(bytes[HEADER_BYTES]).toBe(CODER.bytes);
    expect(bytes.length).toBeLessThan(fast.bytes.length);
    expect(readHeader(bytes, bytes.length).minor).toBe(report.stages.fastfloat ? 2 : 0);
    expect(Buffer.compare(unpackModel(bytes).files[0]!.bytes, original)).toBe(0);
  });

  it('many small integer tensors share the per-file generic budget: the rest go to lz, and the file stays within the cap', () => {
    const r = rng(2);
    const tensors = Array.from({ length: 40 }, (_, i) => {
      // int64 index-like data: small values, repeats; 32 KB each, 1.3 MB in all
      const v = new BigInt64Array(4096);
      for (let k = 0; k < v.length; k++) v[k] = BigInt((k % 97) + Math.floor(r() * 3));
      return { name: `idx.${i}`, dtype: 'I64', shape: [4096], data: bytesOf(v) };
    });
    const original = makeSafetensors(tensors);
    const { bytes, report } = packModel({ format: 'safetensors', files: [{ name: '', bytes: original }] });
    const pipelines = new Set(report.tensors.map((t) => t.pipeline));
    expect(pipelines.has('lz')).toBe(true);
    const index = openMpz(bytes);
    const total = genericTotal(bytes, index);
    expect(total).toBeLessThanOrEqual(MAX_GENERIC_BYTES);
    expect(Buffer.compare(unpackModel(bytes).files[0]!.bytes, original)).toBe(0);
    expect(readHeader(bytes, bytes.length).minor).toBe(1);
  });
});
