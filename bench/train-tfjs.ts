/**
 * The peer of bench/train.ts: LeNet-300-100 and LeNet-5 (Caffe) trained with
 * TensorFlow.js core ops, tf.grads through optimizer.minimize and tf.train.adam,
 * on the `cpu` or `wasm` backend. Loaded through an esbuild bundle because
 * tfjs-core's ESM build uses directory imports Node rejects, and its CJS
 * build registers no gradients.
 *
 * The wasm backend has no Conv2DBackpropFilter kernel: the convolutions carry
 * a custom gradient built on the forward Conv2D kernel (see conv2dComposedGrad),
 * on both backends.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export interface TfjsRunOptions {
  backend: 'cpu' | 'wasm';
  arch: 'lenet-300-100' | 'lenet-5';
  /** Batches to time (after `warmup` untimed ones). */
  batches: number;
  warmup: number;
  batchSize: number;
  /** Pixels in [0, 1], 784 per example. */
  images: Float32Array;
  labels: Uint8Array | Int32Array;
  seed: number;
  /** Folder holding tfjs-backend-wasm's .wasm files (with trailing slash). */
  wasmDir: string;
}

export interface TfjsRunResult {
  secondsPerBatch: number;
  lastLoss: number;
  /** Whether the conv gradients were composed from forward Conv2D (LeNet-5). */
  composedConvFilterGrad: boolean;
}

/** PyTorch default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases. */
function uniform(shape: number[], fanIn: number, seed: number): tf.Variable {
  const bound = 1 / Math.sqrt(fanIn);
  return tf.variable(tf.randomUniform(shape, -bound, bound, 'float32', seed));
}

/**
 * Valid, stride-1 conv2d (NHWC) whose gradients run on the forward Conv2D
 * kernel (XNNPACK on wasm): dW = conv2d(x^T, dy^T) with the batch as
 * channels, dx = conv2d(pad(dy, K-1), W rotated 180 degrees). wasm has no
 * Conv2DBackpropFilter, and this is faster than its Conv2DBackpropInput and
 * than the cpu backend's own backprop kernels (measured with tf.profile), so
 * the peer gets its fastest form on both backends.
 */
export function conv2dComposedGrad(x: tf.Tensor4D, w: tf.Tensor4D, needInputGrad: boolean): tf.Tensor4D {
  const f = tf.customGrad(((...args: unknown[]) => {
    const xv = args[0] as tf.Tensor4D;
    const wv = args[1] as tf.Tensor4D;
    const save = args[2] as (ts: tf.Tensor[]) => void;
    save([xv, wv]);
    return {
      value: tf.conv2d(xv, wv, 1, 'valid'),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const g = dy as tf.Tensor4D;
        const k = ws.shape[0];
        const dw = tf.transpose(
          tf.conv2d(tf.transpose(xs, [3, 1, 2, 0]) as tf.Tensor4D, tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D, 1, 'valid'),
          [1, 2, 0, 3],
        );
        const dx = needInputGrad
          ? tf.conv2d(
              tf.pad(g, [
                [0, 0],
                [k - 1, k - 1],
                [k - 1, k - 1],
                [0, 0],
              ]) as tf.Tensor4D,
              tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D,
              1,
              'valid',
            )
          : tf.zerosLike(xs);
        return [dx, dw];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, w) as tf.Tensor4D;
}

export async function runTfjs(o: TfjsRunOptions): Promise<TfjsRunResult> {
  if (o.backend === 'wasm') {
    setWasmPaths(o.wasmDir);
    await import('@tensorflow/tfjs-backend-wasm');
  }
  if (!(await tf.setBackend(o.backend))) throw new Error(`tfjs backend ${o.backend} failed to initialize`);
  await tf.ready();
  const composed = true;
  let s = o.seed;
  const vars: tf.Variable[] = [];
  const v = (shape: number[], fanIn: number): tf.Variable => {
    const x = uniform(shape, fanIn, s++);
    vars.push(x);
    return x;
  };
  let forward: (x: tf.Tensor2D) => tf.Tensor2D;
  if (o.arch === 'lenet-300-100') {
    const [w1, b1, w2, b2, w3, b3] = [
      v([784, 300], 784),
      v([300], 784),
      v([300, 100], 300),
      v([100], 300),
      v([100, 10], 100),
      v([10], 100),
    ];
    forward = (x) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1!), b1!)), w2!), b2!)), w3!), b3!);
  } else {
    const [c1, cb1, c2, cb2, w1, b1, w2, b2] = [
      v([5, 5, 1, 20], 25),
      v([20], 25),
      v([5, 5, 20, 50], 500),
      v([50], 500),
      v([800, 500], 800),
      v([500], 800),
      v([500, 10], 500),
      v([10], 500),
    ];
    const conv = (x: tf.Tensor4D, w: tf.Tensor4D, first: boolean): tf.Tensor4D =>
      composed ? conv2dComposedGrad(x, w, !first) : tf.conv2d(x, w, 1, 'valid');
    forward = (x) => {
      let h: tf.Tensor4D = tf.reshape(x, [-1, 28, 28, 1]);
      h = tf.maxPool(tf.add(conv(h, c1 as unknown as tf.Tensor4D, true), cb1!), 2, 2, 'valid');
      h = tf.maxPool(tf.add(conv(h, c2 as unknown as tf.Tensor4D, false), cb2!), 2, 2, 'valid');
      const flat = tf.reshape(h, [-1, 800]) as tf.Tensor2D;
      return tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(flat, w1!), b1!)), w2!), b2!);
    };
  }
  const optimizer = tf.train.adam(1e-3);
  const count = o.labels.length;
  let cursor = 0;
  const step = (): number => {
    const start = cursor;
    cursor = (cursor + o.batchSize) % (count - o.batchSize);
    const loss = tf.tidy(() => {
      const x = tf.tensor2d(o.images.subarray(start * 784, (start + o.batchSize) * 784), [o.batchSize, 784]);
      const y = tf.oneHot(tf.tensor1d(Int32Array.from(o.labels.subarray(start, start + o.batchSize)), 'int32'), 10);
      return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, forward(x)) as tf.Scalar, true, vars)!;
    });
    const value = loss.dataSync()[0]!;
    loss.dispose();
    return value;
  };
  for (let i = 0; i < o.warmup; i++) step();
  const t0 = performance.now();
  let last = 0;
  for (let i = 0; i < o.batches; i++) last = step();
  const seconds = (performance.now() - t0) / 1000;
  optimizer.dispose();
  for (const x of vars) x.dispose();
  return { secondsPerBatch: seconds / o.batches, lastLoss: last, composedConvFilterGrad: composed && o.arch === 'lenet-5' };
}
