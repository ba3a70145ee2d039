/**
 * Question: does opening a safetensors file cost O(header), whatever the file's size, and how does
 * using one tensor compare with reading the file?
 * Target (issue 11): openSafetensors() + taking a tensor's TypedArray + close() of a 16 MiB and of a
 * 256 MiB file each under 1 ms (1,000,000 ns), against fs.readFileSync + the same header parse (the
 * baseline, which reads the whole file). The sum of the big tensor, end to end, is reported against
 * the same baseline (no target: the loop dominates both once the page cache is warm).
 *
 * Method: each file holds an F32 tensor 'embeddings' [rows, 256] filling it, plus two small tensors,
 * written here by a few lines that follow the format (8-byte size, JSON padded to 8, data). Files
 * live in os.tmpdir() and are deleted at the end; the page cache is warm (the file was just written
 * and is read once before timing), so neither side measures the disk. Best of N; the sums are
 * interleaved, the opens are not (see openCase).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSafetensors } from 'memoryview'
import { MiB, Row, benchMain, bestOf, compare, row, sizeName } from './common'

const COLS = 256

/** Writes a file of about `size` bytes; returns the expected sum of 'embeddings'. */
function createFile(path: string, size: number): number {
  const rows = Math.floor(size / (COLS * 4))
  const emb = new Float32Array(rows * COLS)
  for (let i = 0; i < emb.length; i++) emb[i] = i % 64 // exact in float32 and in the sum
  const bias = Float32Array.of(1, 2, 3)
  const step = BigInt64Array.of(7n)
  const header = {
    __metadata__: { format: 'pt' },
    step: { dtype: 'I64', shape: [], data_offsets: [0, 8] },
    embeddings: { dtype: 'F32', shape: [rows, COLS], data_offsets: [8, 8 + emb.byteLength] },
    bias: { dtype: 'F32', shape: [3], data_offsets: [8 + emb.byteLength, 8 + emb.byteLength + 12] },
  }
  let json = Buffer.from(JSON.stringify(header))
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, ' ')])
  const n = Buffer.alloc(8)
  n.writeBigUInt64LE(BigInt(json.length))
  const u8 = (t: ArrayBufferView): Buffer => Buffer.from(t.buffer, t.byteOffset, t.byteLength)
  writeFileSync(path, Buffer.concat([n, json, u8(step), u8(emb), u8(bias)]))
  return (emb.length / 64) * ((63 * 64) / 2)
}

function sum(a: Float32Array): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]
  return s
}

/** The baseline: the whole file into a Buffer, the header parsed, a Float32Array over the tensor. */
function viaReadFile(path: string): Float32Array {
  const b = readFileSync(path)
  const n = Number(b.readBigUInt64LE(0))
  const header = JSON.parse(b.toString('utf8', 8, 8 + n)) as Record<string, { data_offsets: [number, number] }>
  const [begin, end] = header.embeddings.data_offsets
  const start = b.byteOffset + 8 + n + begin
  return new Float32Array(b.buffer, start, (end - begin) / 4)
}

function withFile(size: number, fn: (path: string, expected: number) => Row[]): Row[] {
  const dir = mkdtempSync(join(tmpdir(), 'mv-bench-15-'))
  const path = join(dir, 'model.safetensors')
  try {
    const expected = createFile(path, size)
    readFileSync(path) // warm the page cache before any timing
    return fn(path, expected)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function openCase(size: number): Row[] {
  return withFile(size, (path, expected) => {
    const ours = (): number => {
      const st = openSafetensors(path)
      try {
        return (st.tensors.get('embeddings')!.array.toTypedArray() as Float32Array).length
      } finally {
        st.close()
      }
    }
    const base = (): number => viaReadFile(path).length
    if (ours() !== base()) throw new Error('tensor lengths differ')
    const st = openSafetensors(path)
    const ok = sum(st.tensors.get('embeddings')!.array.toTypedArray() as Float32Array) === expected
    st.close()
    if (!ok) throw new Error('mapped tensor does not sum to the expected value')
    // Not interleaved: a repetition of ours right after the baseline pays for collecting the
    // baseline's file-sized Buffer (V8 counts it as external memory), which is not the cost of an open.
    const tOurs = bestOf(ours, { reps: 41, ops: 1, warmup: 3 })
    const tBase = bestOf(base, { reps: size > 64 * MiB ? 7 : 21, ops: 1, warmup: 1 })
    return [row(`safetensors open ${sizeName(size)} (+ tensor + close)`, tOurs, tBase, 'readFileSync + parse', 'ns', { kind: 'abs', maxNs: 1_000_000 })]
  })
}

function sumCase(size: number): Row[] {
  return withFile(size, (path, expected) => {
    const ours = (): number => {
      const st = openSafetensors(path)
      try {
        return sum(st.tensors.get('embeddings')!.array.toTypedArray() as Float32Array)
      } finally {
        st.close()
      }
    }
    const base = (): number => sum(viaReadFile(path))
    if (ours() !== expected || base() !== expected) throw new Error('sums differ from the expected value')
    const t = compare(base, ours, { reps: 7, ops: 1, warmup: 1 })
    return [row(`safetensors sum ${sizeName(size)} F32, end to end`, t.ours / 1e6, t.base / 1e6, 'readFileSync + parse + loop', 'ms', { kind: 'none' })]
  })
}

benchMain({
  'open 16 MiB': () => openCase(16 * MiB),
  'open 256 MiB': () => openCase(256 * MiB),
  'sum 256 MiB': () => sumCase(256 * MiB),
})
