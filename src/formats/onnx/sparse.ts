/**
 * SparseTensorProto: `values` (1-D, NNZ elements), `indices` (int64, [NNZ]
 * linear or [NNZ, rank] coordinates) and the dense `dims`. modelpress
 * reports a sparse tensor as its dense equivalent (the tensor the graph
 * computes with); replacing it re-sparsifies at the same indices.
 */
import { create } from '@bufbuild/protobuf';
import { SparseTensorProtoSchema, type SparseTensorProto } from 'onnx-buf';
import { byteLength, dtypeTraits } from '../../core/dtypes.js';
import { ModelpressError, fail } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { tensorFromProto, tensorToProto, type TensorDecodeOptions, type TensorEncodeOptions } from './tensor-proto.js';

/** Largest dense tensor we materialize from a sparse one, in bytes (2 GiB). */
const MAX_DENSE_BYTES = 2 ** 31;

function label(sp: SparseTensorProto, where: string | undefined): string {
  const name = sp.values?.name ? `sparse tensor '${sp.values.name}'` : 'sparse tensor';
  return where ? `${name} (${where})` : name;
}

/** The linear (row-major) positions of a sparse tensor's values, checked against its dense shape. */
export function sparseLinearIndices(
  sp: SparseTensorProto,
  opts: TensorDecodeOptions = {},
): { shape: number[]; positions: Float64Array; values: Tensor } {
  const lbl = label(sp, opts.where);
  const file = opts.file;
  if (!sp.values) fail('E_CORRUPT', `${lbl}: has no values`, file);
  const values = tensorFromProto(sp.values, { ...opts, where: `${opts.where ?? 'sparse'} values` });
  const shape: number[] = [];
  let total = 1;
  for (const d of sp.dims) {
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER))
      fail('E_CORRUPT', `${lbl}: dims [${sp.dims.join(',')}] has invalid dimension ${d}`, file);
    shape.push(Number(d));
    total *= Number(d);
  }
  if (values.shape.length !== 1) fail('E_CORRUPT', `${lbl}: values must be 1-D, got [${values.shape.join(',')}]`, file);
  const nnz = values.shape[0]!;
  const positions = new Float64Array(nnz);
  if (nnz === 0) return { shape, positions, values };
  if (!sp.indices) fail('E_CORRUPT', `${lbl}: has ${nnz} values but no indices`, file);
  const idx = tensorFromProto(sp.indices, { ...opts, where: `${opts.where ?? 'sparse'} indices` });
  if (idx.dtype !== 'int64') fail('E_CORRUPT', `${lbl}: indices must be int64, got ${idx.dtype}`, file);
  const iv = new BigInt64Array(new Uint8Array(idx.data).buffer);
  const rank = shape.length;
  if (idx.shape.length === 1 && idx.shape[0] === nnz) {
    for (let k = 0; k < nnz; k++) positions[k] = Number(iv[k]!);
  } else if (idx.shape.length === 2 && idx.shape[0] === nnz && idx.shape[1] === rank) {
    for (let k = 0; k < nnz; k++) {
      let lin = 0;
      for (let r = 0; r < rank; r++) {
        const c = Number(iv[k * rank + r]!);
        if (c < 0 || c >= shape[r]!) fail('E_CORRUPT', `${lbl}: index ${k} coordinate ${r} is ${c}, outside dimension ${shape[r]}`, file);
        lin = lin * shape[r]! + c;
      }
      positions[k] = lin;
    }
  } else {
    fail('E_CORRUPT', `${lbl}: indices shape [${idx.shape.join(',')}] is neither [${nnz}] nor [${nnz},${rank}]`, file);
  }
  for (let k = 0; k < nnz; k++) {
    const p = positions[k]!;
    if (!(p >= 0 && p < total))
      fail('E_CORRUPT', `${lbl}: index ${k} is ${p}, outside the ${total} elements of [${shape.join(',')}]`, file);
  }
  return { shape, positions, values };
}

/** The dense tensor a SparseTensorProto stands for (zeros, or empty strings, elsewhere). */
export function denseFromSparse(sp: SparseTensorProto, opts: TensorDecodeOptions = {}): Tensor {
  const { shape, positions, values } = sparseLinearIndices(sp, opts);
  const total = shape.reduce((a, b) => a * b, 1);
  const dtype = values.dtype;
  if (dtype === 'string') {
    if (total > 2 ** 24) fail('E_UNSUPPORTED', `${label(sp, opts.where)}: dense form would hold ${total} strings`, opts.file);
    const strings: Uint8Array[] = Array.from({ length: total }, () => new Uint8Array(0));
    positions.forEach((p, k) => (strings[p] = values.strings![k]!));
    return { dtype, shape, data: new Uint8Array(0), strings };
  }
  const bits = dtypeTraits(dtype).bits;
  const bytes = byteLength(dtype, total);
  if (bytes > MAX_DENSE_BYTES) fail('E_UNSUPPORTED', `${label(sp, opts.where)}: dense form would take ${bytes} bytes`, opts.file);
  let out: Uint8Array;
  try {
    out = new Uint8Array(bytes);
  } catch (e) {
    throw new ModelpressError('E_UNSUPPORTED', `${label(sp, opts.where)}: cannot allocate the ${bytes}-byte dense form`, {
      file: opts.file,
      cause: e,
    });
  }
  if (bits % 8 === 0) {
    const size = bits / 8;
    positions.forEach((p, k) => out.set(values.data.subarray(k * size, (k + 1) * size), p * size));
  } else {
    const perByte = 8 / bits;
    const mask = (1 << bits) - 1;
    positions.forEach((p, k) => {
      const v = (values.data[Math.floor(k / perByte)]! >> ((k % perByte) * bits)) & mask;
      const byte = Math.floor(p / perByte);
      const shift = (p % perByte) * bits;
      out[byte] = (out[byte]! & ~(mask << shift)) | (v << shift);
    });
  }
  return { dtype, shape, data: out };
}

/**
 * A copy of `sp` holding the values of `dense` at the same indices. Throws
 * E_UNSUPPORTED if `dense` is non-zero anywhere else (that would need new indices).
 */
export function sparseWithDense(
  sp: SparseTensorProto,
  dense: Tensor,
  opts: TensorDecodeOptions & TensorEncodeOptions = {},
): SparseTensorProto {
  const { shape, positions } = sparseLinearIndices(sp, opts);
  const lbl = label(sp, opts.where);
  if (dense.shape.join(',') !== shape.join(','))
    fail('E_SHAPE', `${lbl}: replacement has shape [${dense.shape.join(',')}], expected [${shape.join(',')}]`, opts.file);
  const bits = dtypeTraits(dense.dtype).bits;
  if (bits % 8 !== 0 || bits === 0)
    fail('E_UNSUPPORTED', `${lbl}: sparse replacement with ${dense.dtype} elements is not supported`, opts.file);
  const size = bits / 8;
  const nnz = positions.length;
  const vals = new Uint8Array(nnz * size);
  const kept = new Uint8Array(dense.data.byteLength);
  positions.forEach((p, k) => {
    vals.set(dense.data.subarray(p * size, (p + 1) * size), k * size);
    kept.fill(1, p * size, (p + 1) * size);
  });
  for (let i = 0; i < dense.data.byteLength; i++) {
    if (dense.data[i] !== 0 && kept[i] === 0) {
      fail('E_UNSUPPORTED', `${lbl}: replacement is non-zero at element ${Math.floor(i / size)}, outside the stored indices`, opts.file);
    }
  }
  const out = create(SparseTensorProtoSchema, { dims: sp.dims, indices: sp.indices });
  out.values = tensorToProto(sp.values?.name ?? '', { dtype: dense.dtype, shape: [nnz], data: vals }, opts);
  return out;
}
