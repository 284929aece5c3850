// Hand-rolled protobuf encoding of the ONNX ModelProto (onnx/onnx.proto, IR version 8, opset 17).
// Why not protobufjs: onnxruntime-web does not export its proto definitions, and the subset we need is
// small. The encoder never concatenates weights: a message is a list of byte chunks plus its length, so a
// 350 MB model is written with the Float32Array buffers as they are (see `writeChunks`).

/** ONNX TensorProto.DataType values for the element types we write. */
export const ONNX_DTYPE = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, float16: 10 } as const;
export type TensorDtype = keyof typeof ONNX_DTYPE;

export interface TensorInit {
  name: string;
  dtype: TensorDtype;
  dims: readonly number[];
  /** Little-endian element bytes (a view on a typed array's buffer; not copied). */
  raw: Uint8Array;
}

export type AttrValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: TensorInit };

export interface NodeDef {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  attrs?: Readonly<Record<string, AttrValue>>;
  domain?: string;
}

/** A graph input or output: element type and dims, a string dim being symbolic (`batch_size`). */
export interface ValueInfo {
  name: string;
  dtype: TensorDtype;
  dims: readonly (number | string)[];
}

export interface ModelDef {
  graphName: string;
  nodes: readonly NodeDef[];
  initializers: readonly TensorInit[];
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
  opset: number;
  producer: string;
  docString?: string;
  metadata?: Readonly<Record<string, string>>;
}

/** An encoded message: chunks in order and their total length in bytes. */
export interface Encoded {
  chunks: Uint8Array[];
  bytes: number;
}

const textEncoder = new TextEncoder();

/** Accumulates small scalar fields in a scratch array and keeps big byte fields as separate chunks. */
class Writer {
  private readonly chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  private total = 0;

  private flush(): void {
    if (this.scratch.length > 0) {
      this.chunks.push(Uint8Array.from(this.scratch));
      this.total += this.scratch.length;
      this.scratch = [];
    }
  }

  private varint(value: number | bigint): void {
    // int64 negatives are written as 10-byte two's complement, as protobuf does.
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
  }

  private tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, value: number): this {
    this.tag(field, 0);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    const bytes = new Uint8Array(new Float32Array([value]).buffer);
    this.scratch.push(...bytes);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.varint(value.byteLength);
    if (value.byteLength < 256) {
      for (const b of value) this.scratch.push(b);
    } else {
      this.flush();
      this.chunks.push(value);
      this.total += value.byteLength;
    }
    return this;
  }

  message(field: number, value: Encoded): this {
    this.tag(field, 2);
    this.varint(value.bytes);
    this.flush();
    for (const c of value.chunks) this.chunks.push(c);
    this.total += value.bytes;
    return this;
  }

  packedInts(field: number, values: readonly number[]): this {
    const inner = new Writer();
    for (const v of values) inner.varint(v);
    return this.message(field, inner.done());
  }

  done(): Encoded {
    this.flush();
    return { chunks: this.chunks, bytes: this.total };
  }
}

function encodeTensor(t: TensorInit): Encoded {
  const w = new Writer();
  w.packedInts(1, t.dims).int(2, ONNX_DTYPE[t.dtype]).string(8, t.name).bytes(9, t.raw);
  return w.done();
}

function encodeAttr(name: string, a: AttrValue): Encoded {
  const w = new Writer().string(1, name);
  // AttributeProto.AttributeType: FLOAT=1 INT=2 STRING=3 TENSOR=4 INTS=7.
  switch (a.kind) {
    case 'float':
      w.float(2, a.value).int(20, 1);
      break;
    case 'int':
      w.int(3, a.value).int(20, 2);
      break;
    case 'string':
      w.string(4, a.value).int(20, 3);
      break;
    case 'tensor':
      w.message(5, encodeTensor(a.value)).int(20, 4);
      break;
    case 'ints':
      w.packedInts(8, a.value).int(20, 7);
      break;
  }
  return w.done();
}

function encodeNode(n: NodeDef): Encoded {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, encodeAttr(k, v));
  if (n.domain) w.string(7, n.domain);
  return w.done();
}

function encodeValueInfo(v: ValueInfo): Encoded {
  const shape = new Writer();
  for (const d of v.dims) {
    const dim = new Writer();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim.done());
  }
  const tensorType = new Writer().int(1, ONNX_DTYPE[v.dtype]).message(2, shape.done()).done();
  const type = new Writer().message(1, tensorType).done();
  return new Writer().string(1, v.name).message(2, type).done();
}

/** Encodes a whole ModelProto as chunks (weights stay in their own buffers). */
export function encodeModel(m: ModelDef): Encoded {
  const g = new Writer();
  for (const n of m.nodes) g.message(1, encodeNode(n));
  g.string(2, m.graphName);
  for (const t of m.initializers) g.message(5, encodeTensor(t));
  for (const i of m.inputs) g.message(11, encodeValueInfo(i));
  for (const o of m.outputs) g.message(12, encodeValueInfo(o));
  const opset = new Writer().string(1, '').int(2, m.opset).done();
  const model = new Writer().int(1, 8).message(8, opset).string(2, m.producer).string(3, '0.1.0');
  if (m.docString) model.string(6, m.docString);
  model.message(7, g.done());
  for (const [k, v] of Object.entries(m.metadata ?? {})) {
    model.message(14, new Writer().string(1, k).string(2, v).done());
  }
  return model.done();
}

/** Joins encoded chunks into one buffer (for small models and in-memory sessions). */
export function joinChunks(e: Encoded): Uint8Array {
  const out = new Uint8Array(e.bytes);
  let at = 0;
  for (const c of e.chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Little-endian bytes of a typed array, without copying. */
export function rawBytes(a: Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
