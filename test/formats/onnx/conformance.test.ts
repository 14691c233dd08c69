/**
 * The whole ONNX backend test suite (Debian libonnx-testdata): every
 * model.onnx reads and writes back byte for byte, and every tensor in it
 * and in its test_data_set_N input/output .pb files decodes through
 * tensorFromProto and survives tensorToProto (raw and typed storage).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBinary, isFieldSet, toBinary } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { SparseTensorProtoSchema, TensorProtoSchema, type ModelProto, type TensorProto, type TypeProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../../src/core/tensor.js';
import {
  allTensorProtos,
  denseFromSparse,
  listOnnxTensors,
  onnxSummary,
  readOnnx,
  tensorFromProto,
  tensorToProto,
  writeOnnx,
} from '../../../src/formats/onnx/index.js';

const ROOT = '/usr/share/libonnx-testdata/data';
const SUITES = ['node', 'pytorch-converted', 'pytorch-operator', 'simple', 'real'];

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a.byteLength === b.byteLength &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  );
}

function tensorsEqual(a: Tensor, b: Tensor): boolean {
  if (a.dtype !== b.dtype || a.shape.join(',') !== b.shape.join(',')) return false;
  if (a.dtype === 'string') return a.strings!.length === b.strings!.length && a.strings!.every((s, i) => bytesEqual(s, b.strings![i]!));
  return bytesEqual(a.data, b.data);
}

/** The TensorProtos inside a SequenceProto / OptionalProto / MapProto (onnx-data.proto, not in onnx-buf): walked by field number. */
function tensorsInValue(bytes: Uint8Array, kind: 'sequence' | 'optional' | 'map'): TensorProto[] {
  const out: TensorProto[] = [];
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (wt !== WireType.LengthDelimited) {
      r.skip(wt, no);
      continue;
    }
    const sub = r.bytes();
    if (kind === 'map') {
      if (no === 5) out.push(...tensorsInValue(sub, 'sequence'));
      continue;
    }
    if (no === 3) out.push(fromBinary(TensorProtoSchema, sub));
    else if (no === 4) {
      const sp = fromBinary(SparseTensorProtoSchema, sub);
      if (sp.values) out.push(sp.values);
      if (sp.indices) out.push(sp.indices);
    } else if (no === 5) out.push(...tensorsInValue(sub, 'sequence'));
    else if (no === 6) out.push(...tensorsInValue(sub, 'map'));
    else if (no === 7) out.push(...tensorsInValue(sub, 'optional'));
  }
  return out;
}

function valueKind(t: TypeProto | undefined): 'tensor' | 'sequence' | 'optional' | 'map' {
  switch (t?.value.case) {
    case 'sequenceType':
      return 'sequence';
    case 'optionalType':
      return 'optional';
    case 'mapType':
      return 'map';
    default:
      return 'tensor';
  }
}

/** Only name (absent or non-empty), dims, data_type and one payload field: the proto tensorToProto would write for the same storage. */
function isPlain(tp: TensorProto): boolean {
  const emptyName = tp.name === '' && isFieldSet(tp, TensorProtoSchema.field.name);
  return (
    !emptyName &&
    !tp.docString &&
    tp.externalData.length === 0 &&
    tp.metadataProps.length === 0 &&
    tp.segment === undefined &&
    !tp.$unknown?.length
  );
}

interface Tally {
  tensors: number;
  rawIdentical: number;
  typedIdentical: number;
  plainRaw: number;
  plainTyped: number;
}

function roundTripTensor(tp: TensorProto, file: string, tally: Tally): void {
  const t = tensorFromProto(tp, file);
  const raw = tensorToProto(tp.name, t);
  expect(tensorsEqual(tensorFromProto(raw), t), `${file}: ${tp.name} raw round trip`).toBe(true);
  const typed = tensorToProto(tp.name, t, { storage: 'typed' });
  expect(tensorsEqual(tensorFromProto(typed), t), `${file}: ${tp.name} typed round trip`).toBe(true);
  tally.tensors++;
  if (!isPlain(tp)) return;
  const original = toBinary(TensorProtoSchema, tp);
  // A tensor stored like we store it must come out byte for byte.
  if (isFieldSet(tp, TensorProtoSchema.field.rawData) || t.dtype === 'string') {
    tally.plainRaw++;
    if (bytesEqual(toBinary(TensorProtoSchema, raw), original)) tally.rawIdentical++;
  } else {
    tally.plainTyped++;
    if (bytesEqual(toBinary(TensorProtoSchema, typed), original)) tally.typedIdentical++;
  }
}

function modelDirs(): string[] {
  const dirs: string[] = [];
  for (const suite of SUITES) {
    const base = join(ROOT, suite);
    for (const name of readdirSync(base).sort()) dirs.push(join(base, name));
  }
  return dirs;
}

describe('ONNX backend test suite (libonnx-testdata)', () => {
  it('reads and writes every model.onnx byte-identically and round-trips every tensor', () => {
    expect(existsSync(ROOT), `${ROOT} missing: apt-get install -y libonnx-testdata`).toBe(true);
    const dirs = modelDirs();
    const perSuite: Record<string, { models: number; withoutModel: number }> = {};
    const tally: Tally = { tensors: 0, rawIdentical: 0, typedIdentical: 0, plainRaw: 0, plainTyped: 0 };
    let pbFiles = 0;
    let weights = 0;
    const unexpected: string[] = [];
    for (const dir of dirs) {
      const suite = dir.split('/').at(-2)!;
      perSuite[suite] ??= { models: 0, withoutModel: 0 };
      const modelPath = join(dir, 'model.onnx');
      if (!existsSync(modelPath)) {
        // data/real/* ships only data.json pointing at a download (the models are not in the package).
        if (suite === 'real' && existsSync(join(dir, 'data.json'))) perSuite[suite].withoutModel++;
        else unexpected.push(dir);
        continue;
      }
      perSuite[suite].models++;
      const bytes = new Uint8Array(readFileSync(modelPath));
      const model = readOnnx(bytes, { file: modelPath });
      expect(bytesEqual(writeOnnx(model.proto), bytes), `${modelPath} is not written back byte-identically`).toBe(true);
      onnxSummary(model);
      weights += listOnnxTensors(model).length;
      for (const { tensor, part } of allTensorProtos(model.proto)) {
        if (part === undefined) roundTripTensor(tensor, modelPath, tally);
      }
      for (const slot of model.proto.graph!.sparseInitializer) denseFromSparse(slot, { file: modelPath });
      pbFiles += roundTripDataSets(dir, model.proto, tally);
    }
    const models = Object.values(perSuite).reduce((a, s) => a + s.models, 0);
    console.log(
      `libonnx-testdata: ${models} model.onnx byte-identical (${Object.entries(perSuite)
        .map(([k, v]) => `${k} ${v.models}${v.withoutModel ? `, ${v.withoutModel} dirs without model.onnx` : ''}`)
        .join('; ')}); ` +
        `${weights} weights listed; ${tally.tensors} tensors round-tripped from models and ${pbFiles} .pb files; ` +
        `byte-identical re-encoding: raw ${tally.rawIdentical}/${tally.plainRaw}, typed ${tally.typedIdentical}/${tally.plainTyped}`,
    );
    expect(unexpected).toEqual([]);
    expect(models).toBeGreaterThanOrEqual(1072); // 932 node + 82 pytorch-converted + 35 pytorch-operator + 23 simple in the Debian package
    expect(tally.rawIdentical).toBe(tally.plainRaw);
    expect(tally.typedIdentical).toBe(tally.plainTyped);
  });
});

/** Decodes and round-trips the .pb files of a model dir; returns how many files were read. */
function roundTripDataSets(dir: string, proto: ModelProto, tally: Tally): number {
  const graph = proto.graph!;
  const inits = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.filter((vi) => !inits.has(vi.name));
  let files = 0;
  for (const set of readdirSync(dir)
    .filter((n) => n.startsWith('test_data_set_'))
    .sort()) {
    for (const f of readdirSync(join(dir, set)).sort()) {
      const m = /^(input|output)_(\d+)\.pb$/.exec(f);
      if (!m) throw new Error(`unexpected file ${join(dir, set, f)}`);
      const vi = (m[1] === 'input' ? inputs : graph.output)[Number(m[2])];
      const kind = valueKind(vi?.type);
      const bytes = new Uint8Array(readFileSync(join(dir, set, f)));
      const tensors = kind === 'tensor' ? [fromBinary(TensorProtoSchema, bytes)] : tensorsInValue(bytes, kind);
      if (kind === 'tensor') expect(bytesEqual(toBinary(TensorProtoSchema, tensors[0]!), bytes)).toBe(true);
      for (const tp of tensors) roundTripTensor(tp, join(dir, set, f), tally);
      files++;
    }
  }
  return files;
}
