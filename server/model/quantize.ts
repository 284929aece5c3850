// 8-bit weight quantisation for the q8 variant.
// Weights become uint8 with zero point 128 (int8 values shifted by 128) and one scale per output column
// (MatMul) or per row (embedding table): scale = max|w| / 127. uint8 weights with uint8 activations use
// onnxruntime's u8u8 integer kernels, which on AVX2 CPUs do not have the int16 saturation of u8s8 kernels
// (the reason onnxruntime recommends reduce_range for s8 weights): every volunteer CPU computes the same
// exact int32 sums, which keeps results comparable across machines. Measured here (AMD EPYC with
// AVX512-VNNI, onnxruntime-node 1.30, batch 8): int8 weights ran 1.4-1.6x faster than uint8 on this CPU
// (VNNI has a u8s8 instruction), but they would saturate on AVX2-only CPUs, so uint8 stays the default.
// Activations are quantised at run time
// by DynamicQuantizeLinear (per tensor, asymmetric). The patch convolution stays float32.

export const Q8_ZERO_POINT = 128;

function quantizeGroups(data: Float32Array, groups: number, indexOf: (group: number, k: number) => number, groupLength: number) {
  const values = new Uint8Array(data.length);
  const scales = new Float32Array(groups);
  for (let g = 0; g < groups; g++) {
    let max = 0;
    for (let k = 0; k < groupLength; k++) max = Math.max(max, Math.abs(data[indexOf(g, k)]!));
    const scale = max > 0 ? max / 127 : 1;
    scales[g] = scale;
    for (let k = 0; k < groupLength; k++) {
      const i = indexOf(g, k);
      const q = Math.round(data[i]! / scale);
      values[i] = Math.max(-127, Math.min(127, q)) + Q8_ZERO_POINT;
    }
  }
  return { values, scales, zeroPoint: Q8_ZERO_POINT };
}

/** W is [rows, cols] row-major; one scale per column (per output feature of x @ W). */
export function quantizeColumnsU8(data: Float32Array, rows: number, cols: number) {
  return quantizeGroups(data, cols, (c, r) => r * cols + c, rows);
}

/** Table is [rows, cols] row-major; one scale per row (per token of an embedding table). */
export function quantizeRowsU8(data: Float32Array, rows: number, cols: number) {
  return quantizeGroups(data, rows, (r, c) => r * cols + c, cols);
}
