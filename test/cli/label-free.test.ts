/**
 * A user's model and unlabelled inputs: openWakeWord's embedding model fed
 * mel windows of speech synthesised by espeak-ng (scripts/audio-fixtures.ts).
 * Pruning with fine-tuning distils from the original model by MSE, and the
 * report says what the outputs lost on held-back windows, with and without
 * the training; hey_jarvis's score model pruned with --reconstruct. quantize's --min-snr guard measures on --calib samples
 * held back from calibration.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudioFixtures, OWW_MODELS, type AudioFixtures, hasEspeak } from '../../scripts/audio-fixtures.js';
import { cli } from './cli.js';

const EMBEDDING = join(OWW_MODELS, 'embedding_model.onnx');

const dir = mkdtempSync(join(tmpdir(), 'mp-label-free-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasEspeak() || !existsSync(EMBEDDING))('label-free fine-tuning on a real audio model', () => {
  let fixtures: AudioFixtures;
  beforeAll(async () => {
    fixtures = await makeAudioFixtures(join(dir, 'audio'), 12);
  });

  it('prune 50% with fine-tuning on unlabelled .npz: distils from the original and beats pruning alone on held-back data', async () => {
    const out = join(dir, 'p.onnx');
    const r = await cli(
      'prune',
      EMBEDDING,
      '--sparsity',
      '0.5',
      '--data',
      fixtures.embedding,
      '--finetune-epochs',
      '2',
      '-o',
      out,
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.labels).toBe(false);
    expect(j.accuracyBefore).toBeUndefined();
    expect(j.fidelity.samples).toBeGreaterThan(0);
    expect(j.fidelity.inputs).toBe(fixtures.embedding);
    expect(j.fidelity.beforeTraining.snrDb).toBeLessThan(6);
    expect(j.fidelity.snrDb).toBeGreaterThan(j.fidelity.beforeTraining.snrDb + 2);
    expect(j.prunedSparsity).toBeCloseTo(0.5, 2);
  });

  it('hey_jarvis (its score, without the verifier): prune --reconstruct on unlabelled wake-word windows, above pruning alone (12 clips; RESULTS has the 160-clip figures)', async () => {
    const out = join(dir, 'hj.onnx');
    const r = await cli(
      'prune',
      fixtures.heyJarvis,
      '--sparsity',
      '0.5',
      '--data',
      fixtures.wakeword,
      '--reconstruct',
      '--json',
      '-o',
      out,
    );
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.prunedSparsity).toBeCloseTo(0.5, 2);
    expect(j.fidelity.snrDb).toBeGreaterThan(j.fidelity.beforeTraining.snrDb + 2);
    const refused = join(dir, 'hj-refused.onnx');
    const bad = await cli('prune', fixtures.heyJarvis, '--sparsity', '0.5', '--data', fixtures.wakeword, '--min-snr', '30', '-o', refused);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('E_FIDELITY');
    expect(existsSync(refused)).toBe(false);
  });

  it('quantize --scheme static on the melspectrogram model with --min-snr 20 refuses on held-back speech, nothing written', async () => {
    const out = join(dir, 'mel-static.onnx');
    const mel = join(OWW_MODELS, 'melspectrogram.onnx');
    const r = await cli('quantize', mel, '--scheme', 'static', '--calib', fixtures.melspectrogram, '--min-snr', '20', '-o', out);
    expect(r.code, r.err).toBe(1);
    expect(r.err).toContain('E_FIDELITY');
    expect(r.err).toMatch(/fidelity on \d+ samples of .*melspectrogram\.npz held back from calibration/);
    expect(existsSync(out)).toBe(false);
    const ok = await cli('quantize', EMBEDDING, '--scheme', 'int8', '--calib', fixtures.embedding, '--min-snr', '20', '--json', '-o', out);
    expect(ok.code, ok.err).toBe(0);
    const j = JSON.parse(ok.out);
    expect(j.fidelity.inputs).toBe(fixtures.embedding);
    expect(j.fidelity.snrDb).toBeGreaterThan(20);
    expect(existsSync(out)).toBe(true);
  });

  it('--distill T:alpha on data without labels is refused, nothing written', async () => {
    const out = join(dir, 'd.onnx');
    const r = await cli(
      'prune',
      EMBEDDING,
      '--sparsity',
      '0.5',
      '--data',
      fixtures.embedding,
      '--finetune-epochs',
      '1',
      '--distill',
      '-o',
      out,
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain('needs labels');
    expect(existsSync(out)).toBe(false);
  });
});
