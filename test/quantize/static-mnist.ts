/**
 * Fashion-MNIST accuracy of a real classifier (nearest class mean, one Gemm,
 * from src/eval/class-mean.ts) before and after a scheme, on the 10k test
 * set; calibration batches come from the training set.
 */
import * as ort from 'onnxruntime-node';
import type { ModelProto } from 'onnx-buf';
import { buildClassMeanModel, computeClassMeans } from '../../src/eval/class-mean.js';
import { writeOnnx } from '../../src/formats/onnx/index.js';
import { loadFashionMnist } from '../../src/node/datasets.js';
import type { CalibrationFeed } from '../../src/quantize/types.js';

export interface MnistSetup {
  readonly model: ModelProto;
  readonly test: { images: Float32Array; labels: Uint8Array; count: number };
  /** `n` training images in batches of 50, as calibration feeds. */
  calibration(n: number): CalibrationFeed[];
}

export function mnistSetup(): MnistSetup {
  const train = loadFashionMnist({ split: 'train' });
  const test = loadFashionMnist({ split: 'test' });
  const model = buildClassMeanModel(computeClassMeans(train.images, train.labels, 10));
  const px = 28 * 28;
  const toFloat = (u8: Uint8Array) => Float32Array.from(u8, (v) => v / 255);
  return {
    model,
    test: { images: toFloat(test.images), labels: test.labels, count: test.count },
    calibration(n) {
      const out: CalibrationFeed[] = [];
      // spread over the training set, not its first n images
      const stride = Math.floor(train.count / n);
      for (let start = 0; start < n; start += 50) {
        const size = Math.min(50, n - start);
        const data = new Float32Array(size * px);
        for (let i = 0; i < size; i++)
          data.set(toFloat(train.images.subarray((start + i) * stride * px, ((start + i) * stride + 1) * px)), i * px);
        out.push({ image: { dtype: 'float32', shape: [size, 28, 28], data } });
      }
      return out;
    },
  };
}

/** Top-1 accuracy (percent) of `model` on the test set. */
export async function accuracy(model: ModelProto, test: MnistSetup['test']): Promise<number> {
  const session = await ort.InferenceSession.create(writeOnnx(model), { intraOpNumThreads: 1 });
  try {
    const batch = 1000;
    let correct = 0;
    for (let s = 0; s < test.count; s += batch) {
      const n = Math.min(batch, test.count - s);
      const x = new ort.Tensor('float32', test.images.subarray(s * 784, (s + n) * 784), [n, 28, 28]);
      const logits = (await session.run({ image: x })).logits!.data as Float32Array;
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let c = 1; c < 10; c++) if (logits[i * 10 + c]! > logits[i * 10 + best]!) best = c;
        if (best === test.labels[s + i]) correct++;
      }
    }
    return (100 * correct) / test.count;
  } finally {
    await session.release();
  }
}
