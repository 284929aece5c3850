// Builds ONNX graphs of the CLIP vision and text towers with the public export's signature
// (transformers.js / optimum export of openai/clip-vit-base-patch32):
//   vision_model.onnx: pixel_values float32 [batch_size, num_channels, height, width]
//                      -> image_embeds [batch_size, 512], last_hidden_state [batch_size, 50, 768]
//   text_model.onnx:   input_ids int64 [batch_size, sequence_length] (no attention_mask input)
//                      -> text_embeds [batch_size, 512], last_hidden_state [batch_size, sequence_length, 512]
// The text tower pools at argmax(input_ids) (the end token 49407 is the largest id; ONNX ArgMax takes the
// first maximum, so padding with 49407 after the end token still pools at the first one), as HF CLIP does.
// Embeddings come out unnormalised, as in the export; the runner L2-normalises.
import { visionTokens, type ClipArch, type Weight } from './clipArch.ts';
import { rawBytes, type AttrValue, type ModelDef, type NodeDef, type TensorDtype, type TensorInit } from './onnxProto.ts';
import { quantizeColumnsU8, quantizeRowsU8 } from './quantize.ts';

export const OPSET = 17;
export type GraphDtype = 'fp32' | 'q8';

const int = (value: number): AttrValue => ({ kind: 'int', value });
const ints = (value: readonly number[]): AttrValue => ({ kind: 'ints', value });
const float = (value: number): AttrValue => ({ kind: 'float', value });

class GraphBuilder {
  readonly nodes: NodeDef[] = [];
  readonly initializers: TensorInit[] = [];
  private counter = 0;

  constructor(
    private readonly weights: Map<string, Weight>,
    readonly dtype: GraphDtype,
  ) {}

  private fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  init(name: string, dtype: TensorDtype, dims: readonly number[], data: Float32Array | BigInt64Array | Uint8Array): string {
    this.initializers.push({ name, dtype, dims, raw: rawBytes(data) });
    return name;
  }

  weight(name: string): string {
    const w = this.weights.get(name);
    if (!w) throw new Error(`missing weight ${name}`);
    if (!this.initializers.some((t) => t.name === name)) this.init(name, 'float32', w.dims, w.data);
    return name;
  }

  scalar(value: number): string {
    return this.init(this.fresh('const'), 'float32', [], new Float32Array([value]));
  }

  int64s(values: readonly number[]): string {
    return this.init(this.fresh('shape'), 'int64', [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  op(op: string, inputs: readonly string[], attrs?: Record<string, AttrValue>, outputName?: string): string {
    const out = outputName ?? this.fresh(op.toLowerCase());
    this.nodes.push({ op, inputs, outputs: [out], name: this.fresh(`n_${op}`), ...(attrs ? { attrs } : {}) });
    return out;
  }

  opN(op: string, inputs: readonly string[], count: number): string[] {
    const outs = Array.from({ length: count }, () => this.fresh(op.toLowerCase()));
    this.nodes.push({ op, inputs, outputs: outs, name: this.fresh(`n_${op}`) });
    return outs;
  }

  layerNorm(x: string, prefix: string): string {
    return this.op('LayerNormalization', [x, this.weight(`${prefix}.g`), this.weight(`${prefix}.b`)], { axis: int(-1), epsilon: float(1e-5) });
  }

  /**
   * x @ W (+ b). In q8 the weight is stored uint8 per output column (zero point 128) and the activation is
   * quantised at run time: DynamicQuantizeLinear + MatMulInteger + Cast + Mul by (x_scale * w_scale), which is
   * the pattern onnxruntime's quantize_dynamic writes for the public *_quantized.onnx exports.
   */
  linear(x: string, wName: string, bName?: string): string {
    let y: string;
    if (this.dtype === 'fp32') {
      y = this.op('MatMul', [x, this.weight(wName)]);
    } else {
      const w = this.weights.get(wName);
      if (!w) throw new Error(`missing weight ${wName}`);
      const [inDim, outDim] = w.dims as [number, number];
      const q = quantizeColumnsU8(w.data, inDim, outDim);
      const wq = this.init(`${wName}_quantized`, 'uint8', w.dims, q.values);
      const wzp = this.init(`${wName}_zero_point`, 'uint8', [], new Uint8Array([q.zeroPoint]));
      const ws = this.init(`${wName}_scale`, 'float32', [outDim], q.scales);
      const [xq, xs, xzp] = this.opN('DynamicQuantizeLinear', [x], 3) as [string, string, string];
      const acc = this.op('MatMulInteger', [xq, wq, xzp, wzp]);
      const accF = this.op('Cast', [acc], { to: int(1) });
      const scale = this.op('Mul', [xs, ws]);
      y = this.op('Mul', [accF, scale]);
    }
    return bName ? this.op('Add', [y, this.weight(bName)]) : y;
  }

  /** Pre-LN transformer layer (HF CLIPEncoderLayer), with an additive attention mask when given. */
  encoderLayer(x: string, prefix: string, width: number, heads: number, mask?: string): string {
    const hd = width / heads;
    const h = this.layerNorm(x, `${prefix}.ln1`);
    const q = this.linear(h, `${prefix}.q.w`, `${prefix}.q.b`);
    const k = this.linear(h, `${prefix}.k.w`, `${prefix}.k.b`);
    const v = this.linear(h, `${prefix}.v.w`, `${prefix}.v.b`);
    const split = this.int64s([0, 0, heads, hd]);
    const qh = this.op('Transpose', [this.op('Reshape', [q, split])], { perm: ints([0, 2, 1, 3]) });
    const kh = this.op('Transpose', [this.op('Reshape', [k, split])], { perm: ints([0, 2, 3, 1]) });
    const vh = this.op('Transpose', [this.op('Reshape', [v, split])], { perm: ints([0, 2, 1, 3]) });
    let scores = this.op('Mul', [this.op('MatMul', [qh, kh]), this.scalar(hd ** -0.5)]);
    if (mask) scores = this.op('Add', [scores, mask]);
    const probs = this.op('Softmax', [scores], { axis: int(-1) });
    const ctx = this.op('Transpose', [this.op('MatMul', [probs, vh])], { perm: ints([0, 2, 1, 3]) });
    const merged = this.op('Reshape', [ctx, this.int64s([0, 0, width])]);
    const attn = this.linear(merged, `${prefix}.o.w`, `${prefix}.o.b`);
    const x1 = this.op('Add', [x, attn]);
    const h2 = this.layerNorm(x1, `${prefix}.ln2`);
    const f1 = this.linear(h2, `${prefix}.fc1.w`, `${prefix}.fc1.b`);
    // QuickGELU: x * sigmoid(1.702 x)
    const act = this.op('Mul', [f1, this.op('Sigmoid', [this.op('Mul', [f1, this.scalar(1.702)])])]);
    const f2 = this.linear(act, `${prefix}.fc2.w`, `${prefix}.fc2.b`);
    return this.op('Add', [x1, f2]);
  }
}

export function buildVisionModel(arch: ClipArch, weights: Map<string, Weight>, dtype: GraphDtype): ModelDef {
  const g = new GraphBuilder(weights, dtype);
  const v = arch.vision;
  const tokens = visionTokens(arch);
  const pooled0 = v.pool ? g.op('AveragePool', ['pixel_values'], { kernel_shape: ints([v.pool, v.pool]), strides: ints([v.pool, v.pool]) }) : 'pixel_values';
  // The patch convolution stays float32 in q8 too (2.4M of 88M weights, one op); see docs in quantize.ts.
  const conv = g.op('Conv', [pooled0, g.weight('vision.patch.w')], {
    kernel_shape: ints([v.patchSize, v.patchSize]),
    strides: ints([v.patchSize, v.patchSize]),
  });
  const patches = g.op('Transpose', [g.op('Reshape', [conv, g.int64s([0, v.width, -1])])], { perm: ints([0, 2, 1]) });
  const batch = g.op('Shape', ['pixel_values'], { start: int(0), end: int(1) });
  const clsShape = g.op('Concat', [batch, g.int64s([1, v.width])], { axis: int(0) });
  const clsConst = g.op('Reshape', [g.weight('vision.class'), g.int64s([1, 1, v.width])]);
  const cls = g.op('Expand', [clsConst, clsShape]);
  let x = g.op('Concat', [cls, patches], { axis: int(1) });
  x = g.op('Add', [x, g.weight('vision.pos')]);
  x = g.layerNorm(x, 'vision.pre_ln');
  for (let i = 0; i < v.layers; i++) x = g.encoderLayer(x, `vision.l${i}`, v.width, v.heads);
  g.op('Identity', [x], undefined, 'last_hidden_state');
  const first = g.init('cls_index', 'int64', [], new BigInt64Array([0n]));
  const pooled = g.layerNorm(g.op('Gather', [x, first], { axis: int(1) }), 'vision.post_ln');
  const embeds = g.linear(pooled, 'vision.proj');
  g.op('Identity', [embeds], undefined, 'image_embeds');
  return {
    graphName: `clip-${arch.id}-vision`,
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [{ name: 'pixel_values', dtype: 'float32', dims: ['batch_size', 'num_channels', 'height', 'width'] }],
    outputs: [
      { name: 'image_embeds', dtype: 'float32', dims: ['batch_size', arch.embeddingSize] },
      { name: 'last_hidden_state', dtype: 'float32', dims: ['batch_size', tokens, v.width] },
    ],
    opset: OPSET,
    producer: 'crawlswarm model synth',
  };
}

export function buildTextModel(arch: ClipArch, weights: Map<string, Weight>, dtype: GraphDtype): ModelDef {
  const g = new GraphBuilder(weights, dtype);
  const t = arch.text;
  const ids = t.vocabSize < 49408 ? g.op('Mod', ['input_ids', g.int64s([t.vocabSize])]) : 'input_ids';
  let tok: string;
  const table = weights.get('text.tok');
  if (!table) throw new Error('missing weight text.tok');
  if (dtype === 'q8') {
    // The token table (25M of 63M weights) is stored uint8 per row; only the looked-up rows are dequantised.
    const q = quantizeRowsU8(table.data, t.vocabSize, t.width);
    const tq = g.init('text.tok_quantized', 'uint8', table.dims, q.values);
    const ts = g.init('text.tok_scale', 'float32', [t.vocabSize, 1], q.scales);
    const rows = g.op('Cast', [g.op('Gather', [tq, ids], { axis: int(0) })], { to: int(1) });
    const centred = g.op('Sub', [rows, g.scalar(q.zeroPoint)]);
    tok = g.op('Mul', [centred, g.op('Gather', [ts, ids], { axis: int(0) })]);
  } else {
    tok = g.op('Gather', [g.weight('text.tok'), ids], { axis: int(0) });
  }
  const len = g.op('Shape', ['input_ids'], { start: int(1), end: int(2) });
  const pos = g.op('Slice', [g.weight('text.pos'), g.int64s([0]), len, g.int64s([0])]);
  let x = g.op('Add', [tok, pos]);
  // Causal mask: position i sees positions <= i (no attention_mask input, as in the public export).
  // Built in the graph (Trilu, as the HF export does) so no [77, 77] constant is stored.
  const square = g.op('Concat', [len, len], { axis: int(0) });
  const filled = g.op('ConstantOfShape', [square], {
    value: { kind: 'tensor', value: { name: 'mask_value', dtype: 'float32', dims: [1], raw: rawBytes(new Float32Array([-1e9])) } },
  });
  const mask = g.op('Trilu', [filled, g.init('mask_diagonal', 'int64', [], new BigInt64Array([1n]))], { upper: int(1) });
  for (let i = 0; i < t.layers; i++) x = g.encoderLayer(x, `text.l${i}`, t.width, t.heads, mask);
  x = g.layerNorm(x, 'text.final_ln');
  g.op('Identity', [x], undefined, 'last_hidden_state');
  const eos = g.op('ArgMax', ['input_ids'], { axis: int(-1), keepdims: int(1) });
  const pooled = g.op('GatherND', [x, eos], { batch_dims: int(1) });
  const embeds = g.linear(pooled, 'text.proj');
  g.op('Identity', [embeds], undefined, 'text_embeds');
  return {
    graphName: `clip-${arch.id}-text`,
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [{ name: 'input_ids', dtype: 'int64', dims: ['batch_size', 'sequence_length'] }],
    outputs: [
      { name: 'text_embeds', dtype: 'float32', dims: ['batch_size', arch.embeddingSize] },
      { name: 'last_hidden_state', dtype: 'float32', dims: ['batch_size', 'sequence_length', t.width] },
    ],
    opset: OPSET,
    producer: 'crawlswarm model synth',
  };
}
