/**
 * Bringing externally stored tensors back into the protobuf (raw_data), e.g.
 * before writing a model to a place where its data file will not follow.
 */
import type { ModelProto } from 'onnx-buf';
import { byteLength } from '../../core/dtypes.js';
import { cloneSharingBytes } from './clone.js';
import { externalDataInfo, isExternal, readExternalBytes, setInternal, type ExternalSources } from './external.js';
import { checkTensorProto } from './tensor-proto.js';
import { allTensorProtos, describeSlot } from './walk.js';

/** A copy of `proto` in which every external tensor holds its bytes in raw_data. Returns `proto` itself when nothing is external. */
export function inlineExternalData(proto: ModelProto, sources: ExternalSources, file?: string): ModelProto {
  if (!allTensorProtos(proto).some(({ tensor }) => isExternal(tensor))) return proto;
  const out = cloneSharingBytes(proto);
  for (const { tensor: tp, slot, part } of allTensorProtos(out)) {
    if (!isExternal(tp)) continue;
    const where = describeSlot(slot, part);
    const layout = checkTensorProto(tp, { file, where });
    const label = `tensor '${tp.name}' (${where})`;
    setInternal(tp, readExternalBytes(externalDataInfo(tp, label, file), byteLength(layout.dtype, layout.count), label, sources, file));
  }
  return out;
}

/** True when some tensor of the model keeps its payload in an external file. */
export function hasExternalData(proto: ModelProto): boolean {
  return allTensorProtos(proto).some(({ tensor }) => isExternal(tensor));
}
