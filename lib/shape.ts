/**
 * Shape and stride arithmetic: contiguity (CPython's rules, quirks included), extents, and the
 * strided copy loops behind tobytes(), assign() and equals().
 *
 * Assumptions: offsets are byte offsets inside one managed buffer's region; every (shape, strides,
 * offset) triple handed in has already been validated to stay inside that region.
 */

/** Strides of a C-contiguous array of this shape. */
export function cStrides(shape: readonly number[], itemsize: number): number[] {
  const strides = new Array<number>(shape.length)
  let sd = itemsize
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = sd
    sd *= shape[i]
  }
  return strides
}

export function product(shape: readonly number[]): number {
  let n = 1
  for (let i = 0; i < shape.length; i++) n *= shape[i]
  return n
}

/** CPython's PyBuffer_IsContiguous(view, 'C'): an empty buffer counts as contiguous. */
export function isCContiguous(shape: readonly number[], strides: readonly number[], itemsize: number): boolean {
  if (product(shape) === 0) return true
  let sd = itemsize
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] > 1 && strides[i] !== sd) return false
    sd *= shape[i]
  }
  return true
}

/** CPython's PyBuffer_IsContiguous(view, 'F'). */
export function isFContiguous(shape: readonly number[], strides: readonly number[], itemsize: number): boolean {
  if (product(shape) === 0) return true
  let sd = itemsize
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] > 1 && strides[i] !== sd) return false
    sd *= shape[i]
  }
  return true
}

/**
 * The memoryview's own C-contiguity flag (CPython's init_flags): 0-d views are both; 1-d views use
 * the quick test `shape[0] == 1 || strides[0] == itemsize`, which is why an empty slice with a step
 * is *not* contiguous; n-d views use PyBuffer_IsContiguous.
 */
export function isCContiguousView(shape: readonly number[], strides: readonly number[], itemsize: number): boolean {
  if (shape.length === 0) return true
  if (shape.length === 1) return shape[0] === 1 || strides[0] === itemsize
  return isCContiguous(shape, strides, itemsize)
}

/** The Fortran flag of CPython's init_flags (see isCContiguousView). */
export function isFContiguousView(shape: readonly number[], strides: readonly number[], itemsize: number): boolean {
  if (shape.length === 0) return true
  if (shape.length === 1) return shape[0] === 1 || strides[0] === itemsize
  return isFContiguous(shape, strides, itemsize)
}

/**
 * The byte range [low, high) that a strided array touches, relative to its first element; [0, 0)
 * when it has no elements.
 */
export function extent(shape: readonly number[], strides: readonly number[], itemsize: number): [number, number] {
  let low = 0
  let high = itemsize
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 0) return [0, 0]
    const span = (shape[i] - 1) * strides[i]
    if (span < 0) low += span
    else high += span
  }
  return [low, high]
}

/**
 * Calls fn(base) with the offset of the first element of every row (the last dimension) of a
 * strided array with at least one dimension and no zero in its shape, in C order.
 */
function forEachRow(offset: number, shape: readonly number[], strides: readonly number[], fn: (base: number) => void): void {
  const last = shape.length - 1
  const idx = new Array<number>(shape.length).fill(0)
  let base = offset
  for (;;) {
    fn(base)
    // Advance the outer indices like an odometer.
    let d = last - 1
    while (d >= 0) {
      idx[d]++
      base += strides[d]
      if (idx[d] < shape[d]) break
      base -= strides[d] * shape[d]
      idx[d] = 0
      d--
    }
    if (d < 0) return
  }
}

/**
 * Word arrays for item copies: the widest word that divides the item size and every offset. 8-byte
 * items move as one BigUint64 word each (integers, so NaN payloads survive, unlike a Float64Array
 * copy); only gatherRow64()/scatterRow64() index those, so V8 moves them without making BigInts.
 */
type Words = Uint8Array | Uint16Array | Uint32Array | BigUint64Array

function words(u8: Uint8Array, w: number): Words {
  if (w === 1) return u8
  const start = u8.byteOffset
  const Ctor = w === 8 ? BigUint64Array : w === 4 ? Uint32Array : Uint16Array
  return new Ctor(u8.buffer as ArrayBuffer, start - (start % w), Math.floor((u8.byteLength + (start % w)) / w))
}

/**
 * The widest of 4, 2, 1 bytes dividing itemsize, strides and both arrays' absolute offsets; 8 for
 * 8-byte items when everything is 8-byte aligned. Exported for the unit test of this choice.
 */
export function wordSize(itemsize: number, strides: readonly number[], ...absoluteOffsets: number[]): number {
  for (const w of itemsize === 8 ? [8, 4, 2] : [4, 2]) {
    if (itemsize % w !== 0) continue
    if (strides.some((s) => s % w !== 0) || absoluteOffsets.some((o) => o % w !== 0)) continue
    return w
  }
  return 1
}

/**
 * Copies the elements of a strided array into `dst` (packed, in C or Fortran order).
 * `src` is a byte view of the whole region and `offset` the first element's position in it.
 * Items are copied a word at a time when alignment allows (never through floats, which could
 * change NaN payloads).
 */
export function gather(
  dst: Uint8Array,
  src: Uint8Array,
  offset: number,
  shape: readonly number[],
  strides: readonly number[],
  itemsize: number,
  order: 'C' | 'F',
): void {
  if (shape.length === 0) {
    dst.set(src.subarray(offset, offset + itemsize))
    return
  }
  if (product(shape) === 0) return
  if (order === 'F' && shape.length > 1) {
    // Fortran order is C order over the reversed axes.
    shape = shape.slice().reverse()
    strides = strides.slice().reverse()
  }
  const n = shape[shape.length - 1]
  const step = strides[strides.length - 1]
  if (step === itemsize) {
    let out = 0
    forEachRow(offset, shape, strides, (base) => {
      dst.set(src.subarray(base, base + n * itemsize), out)
      out += n * itemsize
    })
    return
  }
  const w = wordSize(itemsize, strides, src.byteOffset + offset, dst.byteOffset)
  const from = words(src, w)
  const to = words(dst, w)
  const per = itemsize / w
  const wstep = step / w
  const shift = (src.byteOffset % w) / w
  let out = (dst.byteOffset % w) / w
  if (w === 8) {
    if (shape.length === 1) gatherRow64(to as BigUint64Array, out, from as BigUint64Array, offset / 8 + shift, n, wstep)
    else forEachRow(offset, shape, strides, (base) => { out = gatherRow64(to as BigUint64Array, out, from as BigUint64Array, base / 8 + shift, n, wstep) })
    return
  }
  if (shape.length === 1) {
    gatherRow(to as Words32, out, from as Words32, offset / w + shift, n, wstep, per)
    return
  }
  forEachRow(offset, shape, strides, (base) => {
    out = gatherRow(to as Words32, out, from as Words32, base / w + shift, n, wstep, per)
  })
}

/**
 * Copies `n` items of `per` words, `wstep` words apart from `p` in `from`, packed into `to` at
 * `out`; returns the next `out`. 8-byte items (two words) get their own loop: the general inner
 * loop costs them twice as much.
 */
function gatherRow(to: Words32, out: number, from: Words32, p: number, n: number, wstep: number, per: number): number {
  if (per === 1) {
    for (let k = 0; k < n; k++, p += wstep) to[out++] = from[p]
  } else if (per === 2) {
    for (let k = 0; k < n; k++, p += wstep, out += 2) {
      to[out] = from[p]
      to[out + 1] = from[p + 1]
    }
  } else {
    for (let k = 0; k < n; k++, p += wstep) for (let b = 0; b < per; b++) to[out++] = from[p + b]
  }
  return out
}

/** The inverse of gatherRow(): `n` packed items from `from` at `inp` to `wstep` apart from `p` in `to`. */
function scatterRow(to: Words32, p: number, from: Words32, inp: number, n: number, wstep: number, per: number): number {
  if (per === 1) {
    for (let k = 0; k < n; k++, p += wstep) to[p] = from[inp++]
  } else if (per === 2) {
    for (let k = 0; k < n; k++, p += wstep, inp += 2) {
      to[p] = from[inp]
      to[p + 1] = from[inp + 1]
    }
  } else {
    for (let k = 0; k < n; k++, p += wstep) for (let b = 0; b < per; b++) to[p + b] = from[inp++]
  }
  return inp
}

/** The word arrays gatherRow() and scatterRow() see: never BigUint64Array, which has its own loops. */
type Words32 = Uint8Array | Uint16Array | Uint32Array

/**
 * gatherRow() for 8-byte items, one BigUint64 word each. Kept apart so that its element accesses
 * only ever see BigUint64Array (V8 then copies the 64-bit words without making BigInts), and
 * unrolled by eight: each access re-checks its array, and the unrolled body shares those checks
 * (bench/16, tobytes() of 1M step-2 doubles: 2.6 ms as two 32-bit words per item, 1.3 ms here).
 */
function gatherRow64(to: BigUint64Array, out: number, from: BigUint64Array, p: number, n: number, step: number): number {
  let k = 0
  for (; k + 8 <= n; k += 8, out += 8) {
    to[out] = from[p]
    p += step
    to[out + 1] = from[p]
    p += step
    to[out + 2] = from[p]
    p += step
    to[out + 3] = from[p]
    p += step
    to[out + 4] = from[p]
    p += step
    to[out + 5] = from[p]
    p += step
    to[out + 6] = from[p]
    p += step
    to[out + 7] = from[p]
    p += step
  }
  for (; k < n; k++, p += step) to[out++] = from[p]
  return out
}

/**
 * The inverse of gatherRow64(), the inner loop of assign() into strided 8-byte views; unrolled by
 * sixteen rather than eight: each store re-checks its array, and a longer body shares more of those
 * checks (bench/16, assign() into a step-2 'd' view of 1M: 1.10 ms by eight, 0.95 ms by sixteen, best
 * of five runs each, against 0.88 ms for a JS scatter loop over Float64Arrays).
 */
function scatterRow64(to: BigUint64Array, p: number, from: BigUint64Array, inp: number, n: number, step: number): number {
  let k = 0
  for (; k + 16 <= n; k += 16, inp += 16) {
    to[p] = from[inp]
    p += step
    to[p] = from[inp + 1]
    p += step
    to[p] = from[inp + 2]
    p += step
    to[p] = from[inp + 3]
    p += step
    to[p] = from[inp + 4]
    p += step
    to[p] = from[inp + 5]
    p += step
    to[p] = from[inp + 6]
    p += step
    to[p] = from[inp + 7]
    p += step
    to[p] = from[inp + 8]
    p += step
    to[p] = from[inp + 9]
    p += step
    to[p] = from[inp + 10]
    p += step
    to[p] = from[inp + 11]
    p += step
    to[p] = from[inp + 12]
    p += step
    to[p] = from[inp + 13]
    p += step
    to[p] = from[inp + 14]
    p += step
    to[p] = from[inp + 15]
    p += step
  }
  for (; k < n; k++, p += step) to[p] = from[inp++]
  return inp
}

/** The inverse of gather(): writes packed C-order bytes from `src` into a strided array in `dst`. */
export function scatter(
  dst: Uint8Array,
  offset: number,
  shape: readonly number[],
  strides: readonly number[],
  itemsize: number,
  src: Uint8Array,
): void {
  if (shape.length === 0) {
    dst.set(src.subarray(0, itemsize), offset)
    return
  }
  if (product(shape) === 0) return
  const n = shape[shape.length - 1]
  const step = strides[strides.length - 1]
  if (step === itemsize) {
    let inp = 0
    forEachRow(offset, shape, strides, (base) => {
      dst.set(src.subarray(inp, inp + n * itemsize), base)
      inp += n * itemsize
    })
    return
  }
  const w = wordSize(itemsize, strides, dst.byteOffset + offset, src.byteOffset)
  const to = words(dst, w)
  const from = words(src, w)
  const per = itemsize / w
  const wstep = step / w
  const shift = (dst.byteOffset % w) / w
  let inp = (src.byteOffset % w) / w
  if (w === 8) {
    if (shape.length === 1) scatterRow64(to as BigUint64Array, offset / 8 + shift, from as BigUint64Array, inp, n, wstep)
    else forEachRow(offset, shape, strides, (base) => { inp = scatterRow64(to as BigUint64Array, base / 8 + shift, from as BigUint64Array, inp, n, wstep) })
    return
  }
  if (shape.length === 1) {
    scatterRow(to as Words32, offset / w + shift, from as Words32, inp, n, wstep, per)
    return
  }
  forEachRow(offset, shape, strides, (base) => {
    inp = scatterRow(to as Words32, base / w + shift, from as Words32, inp, n, wstep, per)
  })
}
