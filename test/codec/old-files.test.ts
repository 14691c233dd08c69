// Files written before format 1.2 still decode: fixtures/pre-1.2.mpz was packed by the writer of
// commit 390213d (format 1.0: floatplanes for float32/float16/bfloat16, the generic coder for the
// skeleton, index and an int64 tensor) from the safetensors file rebuilt here.
import { describe, expect, it } from 'vitest';
import { decodeMpz } from '../../src/browser/decode.js';
import { unpackModel } from '../../src/codec/container/index.js';
import { readHeader } from '../../src/codec/container/format.js';
import { makeSafetensors, readBytes, rng } from './container-helpers.js';

function oldModel(): Uint8Array {
  const r = rng(1811);
  const f32 = new Float32Array(2048).map(() => (r() + r() + r() - 1.5) * 0.05);
  const h16 = new Uint16Array(2048).map(() => 0x2c00 + Math.floor(r() * r() * 0x0fff));
  const bf = new Uint16Array(2048).map(() => 0x3c00 + Math.floor(r() * r() * 0x01ff));
  const i64 = new BigInt64Array(512).map((_, k) => BigInt(k % 37));
  return makeSafetensors([
    { name: 'w', dtype: 'F32', shape: [2048], data: new Uint8Array(f32.buffer) },
    { name: 'h', dtype: 'F16', shape: [2048], data: new Uint8Array(h16.buffer) },
    { name: 'b', dtype: 'BF16', shape: [2048], data: new Uint8Array(bf.buffer) },
    { name: 'i', dtype: 'I64', shape: [512], data: new Uint8Array(i64.buffer) },
  ]);
}

describe('files from before format 1.2', () => {
  it('a 1.0 file with floatplanes streams of all three float dtypes decodes byte-identically, in Node and the browser decoder', async () => {
    const mpz = readBytes('test/codec/fixtures/pre-1.2.mpz');
    expect(readHeader(mpz, mpz.length).minor).toBe(0);
    const original = oldModel();
    expect(Buffer.compare(Buffer.from(unpackModel(mpz).files[0]!.bytes), Buffer.from(original))).toBe(0);
    expect(Buffer.compare(Buffer.from(await decodeMpz(mpz)), Buffer.from(original))).toBe(0);
  });
});
