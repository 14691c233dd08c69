import { describe, expect, it } from 'vitest';
import { isModelpressError } from '../../src/core/errors.js';
import { readOnnx, writeOnnx } from '../../src/formats/onnx/index.js';
import { budgetedSchemes, quantizeModel } from '../../src/quantize/index.js';
import { cosine, FIXTURES, fixtureBytes, runModel, withDetLogits } from '../../support/quantize-fixtures.js';

/**
 * Each weight scheme on each real fixture must load and run in onnxruntime,
 * with output cosine at least the floor of its fixture budget in the scheme
 * table (measured, then rounded down; rec's CTC softmax on synthetic inputs
 * is the most sensitive output) and every quantized tensor's weight SNR
 * above the budget's minWeightSnrDb.
 */
const SCHEMES = budgetedSchemes('fixtures').filter((s) => s.scheme.weightOnly && s.scheme.formats.onnx);

it('the scheme table gives fixture budgets to the ONNX weight-only schemes', () => {
  expect(SCHEMES.map((s) => s.id)).toEqual(['fp16-weights', 'bf16-weights', 'int8', 'uint8', 'int4', 'kmeans:8']);
});

describe('weight schemes on the real fixtures run in onnxruntime', () => {
  for (const f of Object.values(FIXTURES)) {
    describe(f.name, () => {
      const original = readOnnx(fixtureBytes(f), { file: f.path }).proto;
      const probe = f.name === 'det' ? withDetLogits(original) : undefined;
      const originalBytes = writeOnnx(original);
      let reference: Record<string, Float32Array>;
      for (const {
        id: scheme,
        budget: { opts, minCosine, minWeightSnrDb: minSnr },
      } of SCHEMES) {
        it(scheme, async () => {
          reference ??= await runModel(originalBytes, f.feeds());
          let result: Awaited<ReturnType<typeof quantizeModel>>;
          try {
            result = await quantizeModel(original, scheme, { ...opts, file: f.path });
          } catch (e) {
            // silero_vad has no MatMul, and its opset 16 (ReduceMean changed at 18) cannot be raised to 21 for int4 DequantizeLinear
            if (scheme === 'int4' && f.name === 'silero_vad' && isModelpressError(e)) {
              expect(e.code).toBe('E_UNSUPPORTED');
              expect(e.message).toMatch(/found nothing to quantize/);
              return;
            }
            throw e;
          }
          const bytes = writeOnnx(result.model);
          const out = await runModel(bytes, f.feeds());
          const key = probe ?? Object.keys(reference)[0]!;
          const cos = cosine(reference[key]!, out[key]!);
          expect(cos, `${f.name} ${scheme} cosine`).toBeGreaterThan(minCosine[f.id]!);
          const done = result.tensors.filter((t) => t.action !== 'skipped');
          expect(done.length).toBeGreaterThan(0);
          for (const t of done) expect(t.error!.snrDb, `${t.name} SNR`).toBeGreaterThan(minSnr!);
          if (scheme === 'int8' && f.name !== 'cls') {
            // the whole file, graph structure included (cls is ~10% structure: see docs/QUANTIZATION.md)
            expect(bytes.length / fixtureBytes(f).length).toBeLessThan(0.28);
          }
        });
      }
    });
  }
});
