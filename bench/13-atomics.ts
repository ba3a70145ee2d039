/**
 * Question: what does an atomic operation through a view cost, against JS `Atomics` on a
 * SharedArrayBuffer Int32Array? Target (issue 10): `view.add(i, 1)` within 1.5x of `Atomics.add`;
 * load and compareExchange are reported for information.
 *
 * Method: the same loop of N uncontended `add(i & 1023, 1)` on 1024 int32 counters, on a raw
 * Int32Array over a SharedArrayBuffer (the baseline) and through a MemoryView of format 'i' over
 * SharedMemory and over a SharedArrayBuffer; also `load` and `compareExchange`, and — for the record
 * of why the mechanism is JS Atomics rather than a native call — a no-op Node-API call per element
 * (`nativeAvailable()` is JS, so the nearest native call here is `allocationGranularity()`).
 */
import { SharedMemory, allocationGranularity, memoryview } from 'memoryview'
import type { MemoryView } from 'memoryview'
import { benchMain, compare, row } from './common'

const N = 5_000_000
const OPTS = { reps: 15, ops: N, n: N, prime: 200, primeN: 1000 }

function overShm(): { view: ReturnType<typeof memoryview<Int32Array>>; close(): void } {
  const shm = new SharedMemory({ create: true, size: 4096 })
  const view = shm.buf.cast('i')
  return { view, close: () => { shm.unlink(); shm.close() } }
}

/** add(i, 1) through `view` against Atomics.add on a SharedArrayBuffer Int32Array, same indices. */
function compareAdd(view: MemoryView<string>): ReturnType<typeof compare> {
  const raw = new Int32Array(new SharedArrayBuffer(4096))
  const rawAdd = (n: number): number => {
    for (let i = 0; i < n; i++) Atomics.add(raw, i & 1023, 1)
    return raw[0]
  }
  const viewAdd = (n: number): number => {
    for (let i = 0; i < n; i++) view.add(i & 1023, 1)
    return view.get(0) as number
  }
  return compare(rawAdd, viewAdd, OPTS)
}

benchMain({
  'add-shm'() {
    const { view, close } = overShm()
    const t = compareAdd(view)
    close()
    return [row("add(i, 1) 'i' over SharedMemory", t.ours, t.base, 'Atomics.add SAB', 'ns/op', { kind: 'ratio', max: 1.5 })]
  },
  'add-sab'() {
    const t = compareAdd(memoryview(new Int32Array(new SharedArrayBuffer(4096))))
    return [row("add(i, 1) 'i' over SharedArrayBuffer", t.ours, t.base, 'Atomics.add SAB', 'ns/op', { kind: 'ratio', max: 1.5 })]
  },
  'load-shm'() {
    const raw = new Int32Array(new SharedArrayBuffer(4096))
    const { view, close } = overShm()
    const rawLoad = (n: number): number => {
      let s = 0
      for (let i = 0; i < n; i++) s = (s + Atomics.load(raw, i & 1023)) | 0
      return s
    }
    const viewLoad = (n: number): number => {
      let s = 0
      for (let i = 0; i < n; i++) s = (s + view.load(i & 1023)) | 0
      return s
    }
    const t = compare(rawLoad, viewLoad, OPTS)
    close()
    return [row("load(i) 'i' over SharedMemory", t.ours, t.base, 'Atomics.load SAB', 'ns/op', { kind: 'none' })]
  },
  'cas-shm'() {
    const raw = new Int32Array(new SharedArrayBuffer(4096))
    const { view, close } = overShm()
    const rawCas = (n: number): number => {
      for (let i = 0; i < n; i++) Atomics.compareExchange(raw, i & 1023, 0, 0)
      return raw[0]
    }
    const viewCas = (n: number): number => {
      for (let i = 0; i < n; i++) view.compareExchange(i & 1023, 0, 0)
      return view.get(0)
    }
    const t = compare(rawCas, viewCas, OPTS)
    close()
    return [row("compareExchange(i, 0, 0) 'i' over SharedMemory", t.ours, t.base, 'Atomics.compareExchange SAB', 'ns/op', { kind: 'none' })]
  },
  'native-call'() {
    const raw = new Int32Array(new SharedArrayBuffer(4096))
    const M = N / 10
    const rawAdd = (n: number): number => {
      for (let i = 0; i < n; i++) Atomics.add(raw, i & 1023, 1)
      return raw[0]
    }
    const nativeCall = (n: number): number => {
      let s = 0
      for (let i = 0; i < n; i++) s = (s + allocationGranularity()) | 0
      return s
    }
    const t = compare(rawAdd, nativeCall, { ...OPTS, ops: M, n: M })
    return [row('a Node-API call per op (why not native)', t.ours, t.base, 'Atomics.add SAB', 'ns/op', { kind: 'none' })]
  },
})
