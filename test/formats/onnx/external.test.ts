/**
 * External data, in memory: writing with a data file (threshold, alignment,
 * typed fields moved as raw bytes), reading it back through loaders, the
 * errors for bad references, and a model over 2 GiB written through a sink.
 */
import { describe, expect, it } from 'vitest';
import { ModelpressError } from '../../../src/core/errors.js';
import { toFloat32 } from '../../../src/core/tensor.js';
import {
  allTensorProtos,
  externalDataInfo,
  inlineExternalData,
  isExternal,
  listOnnxTensors,
  readOnnx,
  tensorToProto,
  writeOnnx,
} from '../../../src/formats/onnx/index.js';
import { syntheticModel } from './synthetic.js';

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

function caught(f: () => unknown): ModelpressError {
  try {
    f();
  } catch (e) {
    if (e instanceof ModelpressError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

const snapshot = (m: Parameters<typeof listOnnxTensors>[0]) =>
  listOnnxTensors(m).map((t) => [
    t.name,
    t.tensor.dtype,
    [...t.tensor.shape],
    t.tensor.dtype === 'string' ? t.tensor.strings!.map((s) => Array.from(s)) : Array.from(t.tensor.data),
  ]);

describe('external data (in memory)', () => {
  const proto = syntheticModel();
  const original = snapshot(proto);

  it('moves payloads at or over the threshold to aligned offsets and reads them back', () => {
    const out = writeOnnx(proto, { externalData: { location: 'weights.bin', sizeThreshold: 16, align: 64 } });
    expect(out.movedTensors).toBe(3); // w_f32_typed, w_f64 (16 B each), w_raw (256 B); 8-byte ones and the int64 shape-like w_i64 stay inline
    const data = concat(out.data);
    expect(data.byteLength).toBe(out.dataBytes);
    const m = readOnnx(out.model, { file: 'm.onnx', loadExternal: (loc) => (loc === 'weights.bin' ? data : new Uint8Array(0)) });
    const external = allTensorProtos(m.proto).filter(({ tensor }) => isExternal(tensor));
    expect(external.length).toBe(3);
    for (const { tensor } of external) {
      const info = externalDataInfo(tensor, tensor.name);
      expect(info.location).toBe('weights.bin');
      expect(info.offset % 64).toBe(0);
      expect(info.length).toBeGreaterThanOrEqual(16);
      expect(tensor.rawData.byteLength + tensor.floatData.length + tensor.int64Data.length).toBe(0);
    }
    expect(snapshot(m)).toEqual(original);
    const locations = listOnnxTensors(m).filter((t) => t.location.kind === 'external');
    expect(locations.map((t) => t.name)).toEqual(['w_f32_typed', 'w_f64', 'w_raw']);
    const all = writeOnnx(proto, { externalData: { location: 'weights.bin', sizeThreshold: 16, keepShapeTensorsInline: false } });
    expect(all.movedTensors).toBe(4);
    expect(locations.find((t) => t.name === 'w_raw')!.location).toMatchObject({
      kind: 'external',
      graph: '',
      file: 'weights.bin',
      length: 256,
    });
    // the same tensors through a ranged reader; and the write is deterministic
    const ranged = readOnnx(out.model, { readExternal: (_loc, offset, length) => data.subarray(offset, offset + length) });
    expect(snapshot(ranged)).toEqual(original);
    const again = writeOnnx(proto, { externalData: { location: 'weights.bin', sizeThreshold: 16, align: 64 } });
    expect(Buffer.from(again.model).equals(Buffer.from(out.model))).toBe(true);
    // inlining brings back a model equal in content to the original
    expect(snapshot(inlineExternalData(m.proto, { loadExternal: () => data }))).toEqual(original);
  });

  it('re-homes tensors that were already external, streaming chunks to a sink', () => {
    const first = writeOnnx(proto, { externalData: { location: 'a.bin', sizeThreshold: 16 } });
    const aData = concat(first.data);
    const chunks: Uint8Array[] = [];
    const second = writeOnnx(readOnnx(first.model).proto, {
      externalData: { location: 'b.bin', sizeThreshold: 100, align: 1, loadExternal: () => aData, sink: (c) => void chunks.push(c) },
    });
    expect(second.data).toEqual([]);
    expect(second.movedTensors).toBe(1); // only w_raw (256 B) is over 100 B; the others come back inline
    const m = readOnnx(second.model, { loadExternal: (loc) => (loc === 'b.bin' ? concat(chunks) : new Uint8Array(0)) });
    expect(
      allTensorProtos(m.proto)
        .filter(({ tensor }) => isExternal(tensor))
        .map(({ tensor }) => tensor.name),
    ).toEqual(['w_raw']);
    expect(snapshot(m)).toEqual(original);
  });

  it('reports bad references: no loader, short file, wrong length, escaping path', () => {
    const out = writeOnnx(proto, { externalData: { location: 'w.bin', sizeThreshold: 100 } });
    const data = concat(out.data);
    const noLoader = readOnnx(out.model, { file: 'm.onnx' });
    const e1 = caught(() => listOnnxTensors(noLoader));
    expect(e1.code).toBe('E_ARG');
    expect(e1.message).toMatch(
      /^m\.onnx: tensor 'w_raw' \(initializer\): data is in external file "w\.bin" but no way to read external files was given/,
    );
    const short = readOnnx(out.model, { file: 'm.onnx', loadExternal: () => data.subarray(0, 100) });
    expect(caught(() => listOnnxTensors(short)).message).toBe(
      'm.onnx: tensor \'w_raw\' (initializer): external file "w.bin" has 100 bytes, the tensor needs bytes 0..256',
    );
    const m = readOnnx(out.model).proto;
    const raw = m.graph!.initializer.find((t) => t.name === 'w_raw')!;
    raw.externalData.find((kv) => kv.key === 'length')!.value = '255';
    expect(caught(() => readOnnx(writeOnnx(m), { file: 'm.onnx' })).message).toMatch(
      /external_data length 255 but the tensor needs 256 bytes/,
    );
    raw.externalData.find((kv) => kv.key === 'length')!.value = '256';
    raw.externalData.find((kv) => kv.key === 'location')!.value = '../../etc/passwd';
    expect(caught(() => readOnnx(writeOnnx(m))).message).toMatch(/leaves the model's directory/);
    raw.externalData.find((kv) => kv.key === 'location')!.value = 'w.bin';
    raw.externalData.find((kv) => kv.key === 'offset')!.value = '-3';
    expect(caught(() => readOnnx(writeOnnx(m))).code).toBe('E_CORRUPT');
  });

  it('writes a model over 2 GiB through external data (3 x 750 MB tensors, lazily zeroed memory)', () => {
    const size = 750_000_000;
    const payloads = [0, 1, 2].map((i) => {
      const b = new Uint8Array(size); // untouched pages are never resident
      b[0] = i + 1;
      b[size - 1] = 0xa0 + i;
      return b;
    });
    const big = syntheticModel();
    payloads.forEach((data, i) => big.graph!.initializer.push(tensorToProto(`big${i}`, { dtype: 'uint8', shape: [size], data })));
    const plain = caught(() => writeOnnx(big, { file: 'big.onnx' }));
    expect(plain.code).toBe('E_UNSUPPORTED');
    expect(plain.message).toMatch(/over protobuf's 2 GiB limit: write it with externalData/);

    const written: { offset: number; bytes: Uint8Array }[] = [];
    let total = 0;
    const out = writeOnnx(big, {
      externalData: {
        location: 'big.onnx.data',
        sink: (chunk) => {
          written.push({ offset: total, bytes: chunk });
          total += chunk.byteLength;
        },
      },
    });
    expect(total).toBe(out.dataBytes);
    expect(out.dataBytes).toBeGreaterThan(2 ** 31);
    expect(out.model.byteLength).toBeLessThan(10_000);
    const readRange = (_loc: string, offset: number, length: number) => {
      const c = written.find((w) => w.offset <= offset && offset < w.offset + w.bytes.byteLength)!;
      return c.bytes.subarray(offset - c.offset, offset - c.offset + length);
    };
    const back = listOnnxTensors(readOnnx(out.model, { readExternal: readRange })).filter((t) => t.name.startsWith('big'));
    expect(back.map((t) => [t.name, t.tensor.data.byteLength, t.tensor.data[0], t.tensor.data[size - 1]])).toEqual([
      ['big0', size, 1, 0xa0],
      ['big1', size, 2, 0xa1],
      ['big2', size, 3, 0xa2],
    ]);
    expect(back.every((t) => t.location.kind === 'external' && t.location.offset % 4096 === 0)).toBe(true);
    const rss = process.memoryUsage().rss;
    console.log(
      `>2 GiB external write: data file ${out.dataBytes} bytes, .onnx ${out.model.byteLength} bytes, rss ${(rss / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(rss).toBeLessThan(2 ** 31);
    expect(toFloat32(listOnnxTensors(readOnnx(out.model, { readExternal: readRange }))[0]!.tensor)).toEqual(Float32Array.of(1, -2, 3.5, 0));
  });
});
