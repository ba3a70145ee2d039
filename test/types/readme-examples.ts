// The ```ts examples of the README's TypeScript section (/work/briefs/readme-i8a.md), compiled
// by `npm test`: an example that stops compiling (or an @ts-expect-error that starts) fails.
import { MemoryView, isMemoryViewError, memoryview, mmap } from 'memoryview'

// --- Typed views
{
  const m = memoryview(new Float64Array([1.5, 2.5]))   // MemoryView<'d'>
  let sum = 0
  for (const x of m) sum += x                          // x: number
  const big = memoryview(new BigInt64Array(2)).get(0)  // bigint
  const bytes = memoryview(Buffer.from('hi'))          // MemoryView<'B'>
  console.log(bytes.get(0).toString(16))               // '68'
  const words = bytes.cast('<H')                       // MemoryView<'<H'>, editors complete the format
  const f64: Float64Array = m.toTypedArray()
  m.set(0, 3)                                          // number | bigint | boolean for numeric formats
  // @ts-expect-error a typo in a literal format is a compile error
  bytes.cast('Z')
  // @ts-expect-error the value type is checked
  m.set(0, 'x')
  const format: string = process.argv[2] ?? 'B'
  const dynamic: MemoryView = bytes.cast(format)       // a string still compiles: the union of formats
  function total(view: MemoryView<'d' | 'f'>): number {
    let s = 0
    for (let i = 0; i < view.length; i++) s += view.get(i)
    return s
  }
  total(m)
  void [sum, big, words, f64, dynamic]
}

// --- tolist()
{
  const grid = memoryview(new Int32Array(6)).cast('i', [2, 3])
  const rows = grid.tolist() as number[][]             // ndim is known only at run time
  const list = grid.tolist()
  if (Array.isArray(list)) console.log(list.length)   // narrowed to NestedList<number>
  void rows
}

// --- Errors
{
  try {
    mmap('/no/such/file')
  } catch (err) {
    if (isMemoryViewError(err, 'ENOENT')) console.log(err.syscall)        // err.code: 'ENOENT'
    else if (isMemoryViewError(err)) console.log(err.code)                // ErrorCode | SystemErrorCode
    else throw err
  }
}
