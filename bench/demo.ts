/**
 * `npm run demo`: the main job in a few lines. A zero-copy, strided view over a Node Buffer with
 * CPython's memoryview semantics, and the guarantees around releasing it.
 */
import { BufferError, memoryview } from 'memoryview'

const pixels = Buffer.alloc(4 * 6)
const m = memoryview(pixels).cast('B', [4, 6]) // like Python: memoryview(buf).cast('B', [4, 6])
for (let r = 0; r < 4; r++) for (let c = 0; c < 6; c++) m.set(r, c, r * 10 + c)
console.log('view        ', String(m), `format=${m.format} shape=[${m.shape}] strides=[${m.strides}]`)
console.log('m.get(2, 3) ', m.get(2, 3), '            # m[2, 3]')

const everyOtherRow = m.subarray(null, null, 2) // m[::2], no copy
console.log('m[::2]      ', JSON.stringify(everyOtherRow.tolist()), `strides=[${everyOtherRow.strides}]`)
console.log('tobytes("F")', m.subarray(0, 2).tobytes('F').toString('hex'))

const row = memoryview(pixels).subarray(6, 12) // the second row as a flat 1-D view
row.assign(Buffer.from([9, 9, 9, 9, 9, 9])) // m[6:12] = b'...', written straight into `pixels`
console.log('row write   ', pixels.subarray(6, 12).toString('hex'), '    # visible in the Buffer: zero-copy')

const doubles = memoryview(new Float64Array([1.5, NaN, -0]))
console.log('equals      ', doubles.equals(doubles), '        # NaN != NaN, as CPython')
console.log('hex         ', memoryview(Buffer.from('memoryview')).hex(':', 2))

const pin = m.pin() // an export, as when native code holds the buffer
try {
  m.release()
} catch (err) {
  console.log('release()   ', `${(err as BufferError).name} ${(err as BufferError).code}: ${(err as Error).message}`)
}
pin.release()
m.release()
console.log('released    ', String(m), `(derived views still work: m[::2][1, 0] = ${everyOtherRow.get(1, 0)})`)
