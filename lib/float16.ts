/**
 * IEEE 754 half precision ('e' format) without Float16Array, which Node 20 lacks. Packing follows
 * CPython's PyFloat_Pack2 exactly: round half to even, NaN keeps its sign and becomes the quiet NaN,
 * and a value too large for half precision is refused (CPython: OverflowError) rather than clamped.
 */

const f64 = new Float64Array(1)
const u32 = new Uint32Array(f64.buffer)
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0

/** Decodes 16 bits to a number. */
export function f16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exp = (bits >> 10) & 0x1f
  const frac = bits & 0x3ff
  if (exp === 0) return sign * frac * 2 ** -24
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN
  return sign * (1 + frac / 1024) * 2 ** (exp - 15)
}

/** Encodes a number to 16 bits; returns -1 when it overflows half precision. */
export function numberToF16(x: number): number {
  f64[0] = x
  const sign = u32[HI] >>> 31
  if (x === 0) return sign << 15
  if (x === Infinity || x === -Infinity) return (sign << 15) | (0x1f << 10)
  if (Number.isNaN(x)) return (sign << 15) | (0x1f << 10) | 512
  let a = Math.abs(x)
  // frexp: a = f * 2**e with f in [1, 2).
  let e = Math.floor(Math.log2(a))
  let f = a / 2 ** e
  if (f >= 2) {
    f /= 2
    e++
  } else if (f < 1) {
    f *= 2
    e--
  }
  if (e >= 16) return -1
  if (e < -25) {
    f = 0
    e = 0
  } else if (e < -14) {
    f = f * 2 ** (14 + e)
    e = 0
  } else {
    e += 15
    f -= 1
  }
  f *= 1024
  let bits = Math.floor(f)
  if (f - bits > 0.5 || (f - bits === 0.5 && bits % 2 === 1)) {
    bits++
    if (bits === 1024) {
      bits = 0
      e++
      if (e === 31) return -1
    }
  }
  return (sign << 15) | (e << 10) | bits
}
