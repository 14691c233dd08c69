import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudioFixtures, OWW_MODELS, type AudioFixtures, hasEspeak } from '../../scripts/audio-fixtures.js';
import { toFloat32 } from '../../src/core/tensor.js';
import { loadDataSpec } from '../../src/node/datasets.js';
import { trainedZoo } from '../compress/helpers.js';
import { cli } from './cli.js';

const MEL = join(OWW_MODELS, 'melspectrogram.onnx');
const CLIPS = 40;
/** quantize holds back the last fifth of a file's samples (at most 64). */
const HELD = Math.min(64, Math.floor(CLIPS / 5));

const dir = mkdtempSync(join(tmpdir(), 'mp-auto-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The last HELD clips of the melspectrogram .npz (read back through the data-spec loader). */
async function heldBack(npz: string): Promise<Float32Array[]> {
  const ds = await loadDataSpec(npz, {});
  const data = toFloat32(ds.x);
  const per = data.length / CLIPS;
  return Array.from({ length: HELD }, (_, k) => data.slice((CLIPS - HELD + k) * per, (CLIPS - HELD + k + 1) * per));
}

async function outputs(model: string, clips: Float32Array[]): Promise<Float32Array[]> {
  const s = await ort.InferenceSession.create(model);
  try {
    const out: Float32Array[] = [];
    for (const c of clips) {
      const r = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', c, [1, c.length]) });
      out.push(Float32Array.from(r[s.outputNames[0]!]!.data as Float32Array));
    }
    return out;
  } finally {
    await s.release();
  }
}

describe.skipIf(!hasEspeak() || !existsSync(MEL))('quantize --scheme auto on the melspectrogram model', () => {
  let fixtures: AudioFixtures;
  beforeAll(async () => {
    fixtures = await makeAudioFixtures(join(dir, 'audio'), CLIPS);
  });

  it('static quantization is refused by --min-snr 20 and writes nothing', async () => {
    const out = join(dir, 'static.onnx');
    const r = await cli('quantize', MEL, '-o', out, '--scheme', 'static', '--calib', fixtures.melspectrogram, '--min-snr', '20');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\[E_FIDELITY\].*below --min-snr 20; nothing written/);
    expect(existsSync(out)).toBe(false);
  });

  it('--min-snr 30 writes a mixed model that holds 30 dB on the held-back clips, in onnxruntime', async () => {
    const out = join(dir, 'auto-snr.onnx');
    const r = await cli('quantize', MEL, '-o', out, '--scheme', 'auto', '--calib', fixtures.melspectrogram, '--min-snr', '30', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.scheme).toBe('auto');
    expect(j.fidelity.samples).toBe(HELD);
    expect(j.fidelity.snrDb).toBeGreaterThanOrEqual(30);
    expect(j.auto.target).toEqual({ kind: 'snr', minSnrDb: 30 });
    expect(j.auto.weightsBytesAfter).toBeLessThan(j.auto.weightsBytesBefore / 2);
    expect(j.auto.plan.length).toBeGreaterThan(0);
    for (const p of j.auto.plan) {
      expect(['float32', 'float16', 'int8', 'kmeans8', 'int4']).toContain(p.precision);
      expect(p.candidates[0].precision).toBe('float32');
      expect(p.bytes).toBeLessThanOrEqual(p.floatBytes);
    }
    expect(j.auto.attempts.at(-1).holds).toBe(true);
    // re-measured outside modelpress: the written file, onnxruntime, the same held-back clips
    const clips = await heldBack(fixtures.melspectrogram);
    const ref = await outputs(MEL, clips);
    const got = await outputs(out, clips);
    let s = 0;
    let n = 0;
    ref.forEach((r0, k) =>
      r0.forEach((v, i) => {
        s += v * v;
        n += (v - got[k]![i]!) ** 2;
      }),
    );
    const snr = 10 * Math.log10(s / n);
    expect(snr).toBeGreaterThanOrEqual(30);
    // onnxruntime rounds differently at another batch size (here 1 clip a run, the guard all of them at once)
    expect(Math.abs(snr - j.fidelity.snrDb)).toBeLessThan(1.5);
    expect(readFileSync(out).byteLength).toBe(j.sizeBytesAfter);
  });

  it('--target-size 0.3 fits the weights in 30% of float32 and prints the plan', async () => {
    const out = join(dir, 'auto-size.onnx');
    const r = await cli('quantize', MEL, '-o', out, '--scheme', 'auto', '--calib', fixtures.melspectrogram, '--target-size', '0.3');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/tensor\s+shape\s+precision\s+float32\s+bytes\s+alone SNR dB/);
    expect(r.out).toMatch(/0\.stft\.conv_real\.weight/);
    const m = /weights .* \((\d\.\d+) of float32\)/.exec(r.out);
    expect(Number(m![1])).toBeLessThanOrEqual(0.3);
    expect(r.out).toMatch(/held-back samples of .*: SNR \d+\.\d dB/);
    expect(existsSync(out)).toBe(true);
    // a number above 1 is the size of the output file in bytes
    const bytesOut = join(dir, 'auto-bytes.onnx');
    const b = await cli(
      'quantize',
      MEL,
      '-o',
      bytesOut,
      '--scheme',
      'auto',
      '--calib',
      fixtures.melspectrogram,
      '--target-size',
      '400000',
      '--json',
    );
    expect(b.code, b.err).toBe(0);
    const j = JSON.parse(b.out);
    expect(j.auto.target).toEqual({ kind: 'bytes', bytes: 400000 });
    expect(readFileSync(bytesOut).byteLength).toBeLessThanOrEqual(400000);
    expect(j.sizeBytesAfter).toBe(readFileSync(bytesOut).byteLength);
  });

  it('a floor no plan holds is refused with E_FIDELITY and nothing is written', async () => {
    const out = join(dir, 'auto-refused.onnx');
    // the mel filterbank has so few distinct values that a 256-entry codebook stores it losslessly: leave it out
    const r = await cli(
      'quantize',
      MEL,
      '-o',
      out,
      '--scheme',
      'auto',
      '--calib',
      fixtures.melspectrogram,
      '--exclude',
      '1.melW',
      '--min-snr',
      '150',
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\[E_FIDELITY\].*--min-snr 150 dB.*nothing written/);
    expect(existsSync(out)).toBe(false);
  });

  it('a size no mixed model reaches is refused with the smallest size it could reach', async () => {
    // the STFT kernels take no int4 (the model's opset cannot be raised to 21): 8 bits is their floor
    const out = join(dir, 'auto-tiny.onnx');
    const r = await cli('quantize', MEL, '-o', out, '--scheme', 'auto', '--calib', fixtures.melspectrogram, '--target-size', '0.05');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /\[E_FIDELITY\].*--target-size 0\.05 cannot be reached: the smallest mixed model stores \d+ weight bytes \(0\.2\d\d of float32\); nothing written/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('takes exactly one target, and needs data', async () => {
    const out = join(dir, 'auto-arg.onnx');
    const two = await cli(
      'quantize',
      MEL,
      '-o',
      out,
      '--scheme',
      'auto',
      '--calib',
      fixtures.melspectrogram,
      '--min-snr',
      '30',
      '--target-size',
      '0.3',
    );
    expect(two.code).toBe(2);
    expect(two.err).toMatch(/\[E_ARG\].*exactly one target.*--target-size and --min-snr/);
    const none = await cli('quantize', MEL, '-o', out, '--scheme', 'auto', '--min-snr', '30');
    expect(none.err).toMatch(/\[E_ARG\].*--calib/);
    const drop = await cli('quantize', MEL, '-o', out, '--scheme', 'auto', '--calib', fixtures.melspectrogram, '--max-drop', '1');
    expect(drop.err).toMatch(/\[E_ARG\].*--max-drop needs labels/);
    const size = await cli('quantize', MEL, '-o', out, '--scheme', 'int8', '--target-size', '0.3');
    expect(size.err).toMatch(/\[E_ARG\].*--target-size is a target of --scheme auto only/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('quantize --scheme auto --max-drop on a Fashion-MNIST classifier', () => {
  const model = join(dir, 'lenet.onnx');
  beforeAll(async () => writeFileSync(model, toBinary(ModelProtoSchema, await trainedZoo('lenet-300-100', 1, 3000))));

  it('holds the accuracy drop on the held-back test images and reports both accuracies', async () => {
    const out = join(dir, 'lenet-auto.onnx');
    const r = await cli(
      'quantize',
      model,
      '-o',
      out,
      '--scheme',
      'auto',
      '--calib',
      'fashion-mnist',
      '--calib-size',
      '64',
      '--max-drop',
      '1',
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    const acc = j.fidelity.accuracy;
    expect(acc.original).toBeGreaterThan(0.5);
    expect((acc.original - acc.quantized) * 100).toBeLessThanOrEqual(1);
    expect(j.auto.weightsRatio).toBeLessThan(0.5);
    expect(existsSync(out)).toBe(true);
  }, 120_000);

  it('a uniform scheme is refused by --max-drop when its drop is larger, and nothing is written', async () => {
    const out = join(dir, 'lenet-int4.onnx');
    const r = await cli('quantize', model, '-o', out, '--scheme', 'kmeans:1', '--calib', 'fashion-mnist', '--max-drop', '0', '--json');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\[E_FIDELITY\].*accuracy dropped \d+\.\d\d points .*more than --max-drop 0; nothing written/);
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});
