import { mkdtempSync, openSync, closeSync, writeSync, ftruncateSync, rmSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelpressError } from '../../src/core/errors.js';
import { makeTensor } from '../../src/core/tensor.js';
import { writeSafetensors } from '../../src/formats/safetensors.js';
import {
  readSafetensorsFile,
  readSafetensorsHeaderFile,
  readSafetensorsTensorFile,
  writeSafetensorsFile,
} from '../../src/node/safetensors-file.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('safetensors files', () => {
  it('reads one tensor of a 3 GB (sparse) file without reading the rest', async () => {
    // The big tensor's bytes are never written: a whole-file read would need 3 GB (and Node refuses files over 2 GB).
    const big = 3_000_000_000;
    const small = new Float32Array([1.5, -2, 3.25]);
    const header = `{"__metadata__":{"k":"v"},"big":{"dtype":"U8","shape":[${big}],"data_offsets":[0,${big}]},"small":{"dtype":"F32","shape":[3],"data_offsets":[${big},${big + 12}]}}`;
    const json = new TextEncoder().encode(header + ' '.repeat((8 - (header.length % 8)) % 8));
    const path = join(dir, 'sparse.safetensors');
    const fd = openSync(path, 'w');
    const head = new Uint8Array(8 + json.length);
    new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
    head.set(json, 8);
    writeSync(fd, head, 0, head.length, 0);
    writeSync(fd, new Uint8Array(small.buffer), 0, 12, 8 + json.length + big);
    ftruncateSync(fd, 8 + json.length + big + 12);
    closeSync(fd);

    const h = await readSafetensorsHeaderFile(path);
    expect(h.entries.map((e) => e.name)).toEqual(['big', 'small']);
    expect(h.metadata).toEqual({ k: 'v' });
    expect(h.dataStart).toBe(8 + json.length);
    const t = await readSafetensorsTensorFile(path, 'small');
    expect(t.tensor.dtype).toBe('float32');
    expect(new Float32Array(t.tensor.data.buffer, t.tensor.data.byteOffset, 3)).toEqual(small);
    expect(t.location).toEqual({ kind: 'safetensors', offset: 8 + json.length + big, length: 12 });
    await expect(readSafetensorsTensorFile(path, 'nope')).rejects.toMatchObject({ code: 'E_NOT_FOUND', file: path });
  });

  it('writes atomically and reads back; errors name the path', async () => {
    const path = join(dir, 'w.safetensors');
    const tensors = [{ name: 'a', tensor: makeTensor('int32', [2], new Uint8Array(new Int32Array([7, -9]).buffer)) }];
    writeSafetensorsFile(path, tensors, { a: 'b' });
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const back = readSafetensorsFile(path);
    expect(back.metadata).toEqual({ a: 'b' });
    expect([...back.tensors[0]!.tensor.data]).toEqual([...tensors[0]!.tensor.data]);
    expect(statSync(path).size).toBe(writeSafetensors(tensors, { a: 'b' }).length);

    // a bad input leaves no file behind
    const badPath = join(dir, 'bad-out.safetensors');
    expect(() =>
      writeSafetensorsFile(badPath, [{ name: 's', tensor: { dtype: 'string', shape: [0], data: new Uint8Array(0), strings: [] } }]),
    ).toThrow(ModelpressError);
    expect(readdirSync(dir).some((f) => f.startsWith('bad-out') || f.includes('bad-out'))).toBe(false);

    const truncated = join(dir, 'trunc.safetensors');
    writeFileSync(truncated, writeSafetensors(tensors).subarray(0, 20));
    await expect(readSafetensorsHeaderFile(truncated)).rejects.toMatchObject({ code: 'E_TRUNCATED', file: truncated });
    await expect(readSafetensorsHeaderFile(join(dir, 'missing.safetensors'))).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });
});
