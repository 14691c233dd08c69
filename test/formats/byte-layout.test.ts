/**
 * The byte layouts formats/ hands the container: every payload range (short
 * ones included; the container's sourceLayout drops those), the one varint
 * reader they and the codec share, and the dtype names safetensors takes
 * from core's table.
 */
import { describe, expect, it } from 'vitest';
import { DTYPES } from '../../src/core/dtypes.js';
import { readVarint, VARINT_TOO_LONG, VARINT_TRUNCATED } from '../../src/core/varint.js';
import { ByteReader } from '../../src/codec/bytes.js';
import { MIN_SLOT_BYTES, sourceLayout } from '../../src/codec/container/layout.js';
import { tensorToProto, writeOnnx } from '../../src/formats/onnx/index.js';
import { onnxByteLayout } from '../../src/formats/onnx/layout.js';
import { SAFETENSORS_DTYPE_NAMES, safetensorsByteLayout, writeSafetensors } from '../../src/formats/safetensors.js';
import { tfjsByteLayout } from '../../src/formats/tfjs/layout.js';
import { GraphBuilder, makeModel } from '../../src/graph/builder.js';
import { makeTensor } from '../../src/core/tensor.js';

const enc = new TextEncoder();

describe('readVarint (core)', () => {
  const out = { value: 0 };
  it('decodes LEB128 values and returns the next position', () => {
    expect(readVarint(Uint8Array.of(0x96, 0x01, 0xff), 0, 3, 10, out)).toBe(2);
    expect(out.value).toBe(150);
    expect(readVarint(Uint8Array.of(0, 0x7f), 1, 2, 10, out)).toBe(2);
    expect(out.value).toBe(127);
  });
  it('says truncated when the bytes end first and too long past maxBytes', () => {
    expect(readVarint(Uint8Array.of(0x80, 0x80), 0, 2, 10, out)).toBe(VARINT_TRUNCATED);
    expect(readVarint(Uint8Array.of(0x80, 0x80, 0x01), 0, 2, 10, out)).toBe(VARINT_TRUNCATED); // `end` bounds it, not the array
    expect(readVarint(new Uint8Array(9).fill(0x80), 0, 9, 8, out)).toBe(VARINT_TOO_LONG);
  });
  it('backs the codec ByteReader, which keeps its own limits and errors', () => {
    const r = new ByteReader(Uint8Array.of(0xac, 0x02, 0x80), 'hdr');
    expect(r.varuint()).toBe(300);
    expect(r.pos).toBe(2);
    expect(() => r.varuint()).toThrow(/hdr: ends at byte 3/);
    expect(() => new ByteReader(new Uint8Array(9).fill(0xff)).varuint()).toThrow(/too long/);
  });
});

describe('safetensors dtype names come from core', () => {
  it('every core safetensors name has a place in the reference order, and F4 is float4e2m1 in both', () => {
    for (const t of DTYPES) if (t.safetensors) expect(SAFETENSORS_DTYPE_NAMES).toContain(t.safetensors);
    expect(DTYPES.find((t) => t.safetensors === 'F4')?.name).toBe('float4e2m1');
  });
});

describe('byte layouts', () => {
  it('safetensors: one range per tensor at its absolute offset, short ones too; the container keeps the long ones', () => {
    const big = makeTensor('float32', [32], new Uint8Array(128));
    const small = makeTensor('float32', [2], new Uint8Array(8));
    const file = writeSafetensors([
      { name: 'big', tensor: big },
      { name: 'small', tensor: small },
    ]);
    const layout = safetensorsByteLayout(file);
    expect(layout.ranges.map((r) => [r.name, r.dtype, r.length])).toEqual(
      expect.arrayContaining([
        ['big', 'float32', 128],
        ['small', 'float32', 8],
      ]),
    );
    for (const r of layout.ranges) expect(r.offset + r.length).toBeLessThanOrEqual(file.length);
    expect(sourceLayout(layout).slots.map((s) => s.name)).toEqual(['big']);
  });

  it('safetensors: an unknown dtype packs as bytes instead of failing', () => {
    const json = enc.encode('{"w":{"dtype":"F6_E2M3","shape":[100],"data_offsets":[0,75]}}');
    const file = new Uint8Array(8 + json.length + 75);
    new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
    file.set(json, 8);
    expect(safetensorsByteLayout(file).ranges).toEqual([{ name: 'w', dtype: 'bytes', shape: [75], offset: 8 + json.length, length: 75 }]);
  });

  it('onnx: raw_data ranges are typed by dims and dtype and point at the payload bytes', () => {
    const g = new GraphBuilder();
    const w = new Float32Array(40).map((_, i) => i + 0.5);
    g.input('x', 'float32', [1, 40]);
    g.graph.initializer.push(tensorToProto('w', makeTensor('float32', [1, 40], new Uint8Array(w.buffer))));
    g.node('Add', ['x', 'w'], { outputs: ['y'] });
    g.output('y', 'float32', [1, 40]);
    const bytes = writeOnnx(makeModel(g.graph));
    const layout = onnxByteLayout(bytes);
    const r = layout.ranges.find((x) => x.name === 'w')!;
    expect(r).toMatchObject({ dtype: 'float32', shape: [1, 40], length: 160 });
    expect(new Float32Array(bytes.slice(r.offset, r.offset + r.length).buffer)).toEqual(w);
    expect(sourceLayout(layout).slots.every((s) => s.length >= MIN_SLOT_BYTES)).toBe(true);
  });

  it('tfjs: weights are ranges in the shard concatenation after model.json; complex64 as float32 pairs', () => {
    const manifest = [
      {
        paths: ['a.bin'],
        weights: [
          { name: 'c', shape: [4], dtype: 'complex64' },
          { name: 'q', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 1, min: 0 } },
        ],
      },
    ];
    const json = enc.encode(JSON.stringify({ format: 'graph-model', modelTopology: {}, weightsManifest: manifest }));
    const layout = tfjsByteLayout([
      { name: 'model.json', bytes: json },
      { name: 'a.bin', bytes: new Uint8Array(35) },
    ]);
    expect(layout.ranges).toEqual([
      { name: 'c', dtype: 'float32', shape: [8], offset: json.length, length: 32 },
      { name: 'q', dtype: 'uint8', shape: [3], offset: json.length + 32, length: 3 },
    ]);
  });
});
