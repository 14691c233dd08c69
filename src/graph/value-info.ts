/** ValueInfoProto helpers: tensor type with dtype and (possibly symbolic) shape. */
import { create } from '@bufbuild/protobuf';
import {
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  type ValueInfoProto,
} from 'onnx-buf';

/** A dimension: a number, a symbolic name such as 'batch', or null when unknown. */
export type Dim = number | string | null;

export function makeValueInfo(name: string, elemType: number, shape?: readonly Dim[]): ValueInfoProto {
  // An unknown type is left out (onnxruntime infers it) rather than written as elem type 0.
  if (elemType === 0) return create(ValueInfoProtoSchema, { name });
  const tensorType = create(TypeProto_TensorSchema, { elemType });
  if (shape) {
    tensorType.shape = create(TensorShapeProtoSchema, {
      dim: shape.map((d) =>
        create(TensorShapeProto_DimensionSchema, {
          value:
            typeof d === 'number'
              ? { case: 'dimValue', value: BigInt(d) }
              : typeof d === 'string'
                ? { case: 'dimParam', value: d }
                : { case: undefined },
        }),
      ),
    });
  }
  return create(ValueInfoProtoSchema, { name, type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }) });
}

/** Elem type and shape of a tensor ValueInfoProto (shape undefined when the rank is unknown). */
export function readValueInfo(vi: ValueInfoProto): { elemType: number; shape: Dim[] | undefined } | undefined {
  if (vi.type?.value.case !== 'tensorType') return undefined;
  const tt = vi.type.value.value;
  const shape = tt.shape
    ? tt.shape.dim.map(
        (d): Dim =>
          d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' && d.value.value !== '' ? d.value.value : null,
      )
    : undefined;
  return { elemType: tt.elemType, shape };
}
