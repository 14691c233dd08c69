/**
 * A user's model and unlabelled inputs: openWakeWord's embedding model fed
 * mel windows of speech synthesised by espeak-ng (scripts/audio-fixtures.ts).
 * Pruning with fine-tuning distils from the original model by MSE, and the
 * report says what the outputs lost on held-back windows, with and without
 * the training.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudioFixtures, OWW_MODELS, type AudioFixtures } from '../../scripts/audio-fixtures.js';
import { cli } from './cli.js';

const EMBEDDING = join(OWW_MODELS, 'embedding_model.onnx');

function hasEspeak(): boolean {
  try {
    execFileSync('espeak-ng', ['--version']);
    return true;
  } catch {
    return false;
  }
}

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
    expect(j.fidelity.examples).toBeGreaterThan(0);
    expect(j.fidelity.withoutTraining.snrDb).toBeLessThan(6);
    expect(j.fidelity.result.snrDb).toBeGreaterThan(j.fidelity.withoutTraining.snrDb + 2);
    expect(j.prunedSparsity).toBeCloseTo(0.5, 2);
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
