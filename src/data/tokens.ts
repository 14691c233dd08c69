/**
 * Token data for language models: a text as byte-level token ids (one token
 * per UTF-8 byte, vocabulary 256, as byte-level models like ByT5 and the zoo's
 * byte LM read it), cut into non-overlapping windows of `context` tokens, the
 * [N, T] int64 tensor a decoder's `input_ids` takes.
 */
import { ModelpressError } from '../core/errors.js';
import { makeTensor, type Tensor } from '../core/tensor.js';

/** Vocabulary size of the byte-level tokenizer. */
export const BYTE_VOCAB = 256;

/**
 * The bytes of a text as int64 windows [N, context] (the tail shorter than a
 * window is left out). Throws E_ARG when the text holds no whole window.
 */
export function byteWindows(bytes: Uint8Array, context: number, file?: string): Tensor {
  if (!Number.isInteger(context) || context < 2)
    throw new ModelpressError('E_ARG', `context length must be an integer >= 2, got ${context}`, file === undefined ? {} : { file });
  const count = Math.floor(bytes.length / context);
  if (count === 0)
    throw new ModelpressError(
      'E_ARG',
      `text of ${bytes.length} bytes holds no window of ${context} tokens`,
      file === undefined ? {} : { file },
    );
  const ids = new BigInt64Array(count * context);
  for (let i = 0; i < ids.length; i++) ids[i] = BigInt(bytes[i]!);
  return makeTensor('int64', [count, context], new Uint8Array(ids.buffer));
}

/** Token ids of an int32/int64 tensor as numbers (exact below 2^53), checked against a vocabulary size when given. */
export function tokenIds(t: Tensor, vocab?: number, file?: string): Int32Array {
  if (t.dtype !== 'int64' && t.dtype !== 'int32')
    throw new ModelpressError('E_FORMAT', `token ids must be int64 or int32, found ${t.dtype}`, file === undefined ? {} : { file });
  const n = t.data.byteLength / (t.dtype === 'int64' ? 8 : 4);
  const out = new Int32Array(n);
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  for (let i = 0; i < n; i++) {
    const v = t.dtype === 'int64' ? Number(view.getBigInt64(i * 8, true)) : view.getInt32(i * 4, true);
    if (v < 0 || (vocab !== undefined && v >= vocab))
      throw new ModelpressError(
        'E_ARG',
        `token id ${v} at position ${i} is outside the vocabulary [0, ${vocab ?? 'inf'})`,
        file === undefined ? {} : { file },
      );
    out[i] = v;
  }
  return out;
}
