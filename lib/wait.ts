/**
 * wait / notify on 32-bit integer elements of shared memory, across threads and processes.
 *
 * `view.wait(i, expected, timeoutMs?)`, `view.waitAsync(i, expected, { timeout, signal })` and
 * `view.notify(i, count?)` are `Atomics.wait`/`waitAsync`/`notify` for views of format `'i'` or `'I'`
 * over memory other threads or processes can share: a `SharedArrayBuffer`, a {@link SharedMemory}
 * or a {@link MappedFile} opened with access `'write'`. The waiting happens in the kernel (Linux:
 * `futex` without `FUTEX_PRIVATE_FLAG`, see native/platform.h), so a process waiting on a word of a
 * shared-memory segment is woken by `notify()` from another process that maps the same segment.
 *
 * Ownership rules: a pending `waitAsync()` is served by one dedicated native thread (never a libuv
 * thread-pool thread, so pending waits do not stall `fs`, `dns` or `zlib`), at most 1024 per JS
 * thread. The Promise's closure keeps the view, and with it the memory, reachable until it settles.
 * Closing the owner of the memory (SharedMemory/MappedFile `close()`) settles its pending waits with
 * `ERR_MEMORYVIEW_RELEASED` before it unmaps; the environment's teardown (process exit, worker
 * termination) cancels and joins every waiting thread before any JS state goes away.
 *
 * The methods are installed on MemoryView's prototype by this module (memoryview.ts stays the
 * CPython-semantics class); their types are merged into the class below.
 */
import { endianness } from 'node:os'
import { getSystemErrorName } from 'node:util'

import { requireBinding } from './binding'
import { codes, plainError, rangeError, releasedError, typeError } from './errors'
import type { Region } from './managed-buffer'
import { MemoryView } from './memoryview'
import { unshareableReason } from './share'

/** What `view.wait()` and `view.waitAsync()` report, as `Atomics.wait` does. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out'

/** The options of `view.waitAsync()`. */
export interface WaitAsyncOptions {
  /** Milliseconds (fractions allowed) before resolving `'timed-out'`; `Infinity` (default) waits for ever. */
  timeout?: number
  /** Aborting it rejects the Promise with `ERR_MEMORYVIEW_ABORTED` (`cause`: the signal's reason). */
  signal?: AbortSignal
}

/**
 * The formats wait/notify accept: 32-bit integers in this machine's byte order (`'<i'`/`'<I'` only on
 * little-endian machines, checked when called).
 */
export type WaitFormat = 'i' | 'I' | '@i' | '@I' | '=i' | '=I' | '<i' | '<I'

declare module './memoryview' {
  interface MemoryView<F extends string> {
    /**
     * `Atomics.wait` on element `index` (negative counts from the end) of a 1-D view of format `'i'`/`'I'`
     * over shared memory: sleeps, blocking this thread, while the element equals `expected`, until
     * `notify()` (from any thread or process sharing the memory) or the timeout.
     * @param timeoutMs milliseconds (fractions allowed, `0` only compares), default `Infinity`.
     * @returns `'ok'` (woken), `'not-equal'` (the element was not `expected`), `'timed-out'`.
     * @throws {Error} ERR_MEMORYVIEW_RELEASED on a released view.
     * @throws {TypeError} ERR_MEMORYVIEW_FORMAT unless the format is `'i'`/`'I'` (native byte order);
     *   ERR_MEMORYVIEW_NOT_SHAREABLE over memory no other thread can share (an ArrayBuffer, a Buffer, a
     *   read/copy mapping); ERR_MEMORYVIEW_INVALID_INDEX for a view that is not 1-D or a non-integral
     *   index; ERR_MEMORYVIEW_INVALID_TYPE for a non-integral `expected`; ERR_MEMORYVIEW_INVALID_ARG for
     *   a non-number timeout.
     * @throws {RangeError} ERR_MEMORYVIEW_INDEX for an index out of range; ERR_MEMORYVIEW_UNALIGNED for
     *   an element not 4-byte aligned; ERR_MEMORYVIEW_INVALID_VALUE for `expected` outside the
     *   format's range; ERR_MEMORYVIEW_OUT_OF_RANGE for a negative or NaN timeout.
     * @throws {Error} a system error (`code` the errno name, `errno`, `syscall: 'futex'` on every
     *   system) if the kernel refuses the wait; a waitAsync() rejects with the same.
     */
    wait(this: MemoryView<WaitFormat>, index: number | bigint, expected: number | bigint, timeoutMs?: number): WaitResult
    /**
     * `Atomics.waitAsync`: the same wait without blocking. The Promise resolves to `'ok'`, `'not-equal'`
     * (at once) or `'timed-out'`. While it is pending the event loop stays alive (as with a pending
     * read); use `timeout` or `signal` to bound it.
     * @throws the same errors as `view.wait()`, synchronously; and RangeError
     *   ERR_MEMORYVIEW_TOO_MANY_WAITS beyond 1024 pending waits in this thread.
     * @returns a Promise that rejects with Error ERR_MEMORYVIEW_ABORTED when `signal` aborts (also when
     *   it is already aborted; the rejection comes once the waiting thread has left the kernel, so a
     *   notify() after it neither wakes nor counts this wait), and with Error ERR_MEMORYVIEW_RELEASED
     *   when the memory's owner is closed while the wait is pending.
     */
    waitAsync(this: MemoryView<WaitFormat>, index: number | bigint, expected: number | bigint, options?: WaitAsyncOptions): Promise<WaitResult>
    /**
     * `Atomics.notify`: wakes up to `count` (default: all) threads or processes waiting on element
     * `index`, oldest first.
     * @param count an integral number >= 0, or `Infinity`.
     * @returns how many waiters woke (in every process).
     * @throws the view errors of `view.wait()`; TypeError ERR_MEMORYVIEW_INVALID_ARG for a
     *   non-integral count; RangeError ERR_MEMORYVIEW_OUT_OF_RANGE for a negative one.
     */
    notify(this: MemoryView<WaitFormat>, index: number | bigint, count?: number): number
  }
}

const RESULTS: readonly WaitResult[] = ['ok', 'not-equal', 'timed-out']
const NATIVE_LITTLE = endianness() === 'LE'

/** One Int32Array over each whole buffer that has been waited on, by 4-byte word. */
const words = new WeakMap<Region, Int32Array>()

function wordsOf(buffer: Region): Int32Array {
  let w = words.get(buffer)
  // Keyed by the buffer, so only its length can differ (a resizable or growable buffer).
  if (w === undefined || w.length !== buffer.byteLength >>> 2) {
    w = new Int32Array(buffer, 0, buffer.byteLength >>> 2)
    words.set(buffer, w)
  }
  return w
}

interface Word {
  words: Int32Array
  index: number
  expected: number
}

/** Validates a wait/notify call in Atomics' order (view, index, value) and finds the word. */
function resolveWord(view: MemoryView<string>, method: string, index: unknown, expected?: unknown): Word {
  if (!(view instanceof MemoryView)) throw typeError(codes.INVALID_THIS, `${method}() called on a non-MemoryView`)
  if (view.released) throw releasedError()
  const fmt = view._fmt
  if ((fmt.char !== 'i' && fmt.char !== 'I') || fmt.itemsize !== 4 || fmt.littleEndian !== NATIVE_LITTLE) {
    throw typeError(codes.FORMAT, `${method}() needs a view of format 'i' or 'I' in native byte order, not '${fmt.str}'`)
  }
  // The same test as share() and the atomics: it knows every mapping (windows too) by its buffer.
  const why = unshareableReason(view._mbuf.buffer)
  if (why !== null) {
    throw typeError(
      codes.NOT_SHAREABLE,
      `${method}() needs memory other threads or processes can share (a SharedArrayBuffer, SharedMemory, ` +
        `or a file mapped with access 'write'), and ${why}`,
    )
  }
  if (view.ndim !== 1) throw typeError(codes.INVALID_INDEX, `${method}() takes one index, on a 1-D view (this one has ${view.ndim} dimensions)`)
  let k: number
  if (typeof index === 'number' && Number.isInteger(index)) k = index
  else if (typeof index === 'bigint') k = Number(index)
  else throw typeError(codes.INVALID_INDEX, `${method}(): the index must be an integer`)
  const n = view.length
  if (k < 0) k += n
  if (!(k >= 0 && k < n)) throw rangeError(codes.INDEX, `${method}(): index out of bounds on dimension 1`)
  view._live()
  const byte = view._mbuf.byteOffset + view._off + k * view._stride0
  if (byte % 4 !== 0) throw rangeError(codes.UNALIGNED, `${method}(): element ${k} is not 4-byte aligned (byte ${byte})`)
  const value = expected === undefined ? 0 : Number(fmt.convert(expected))
  return { words: wordsOf(view._mbuf.buffer), index: byte >>> 2, expected: value }
}

function timeoutOf(value: unknown, method: string): number {
  if (value === undefined) return Infinity
  if (typeof value !== 'number') throw typeError(codes.INVALID_ARG, `${method}(): the timeout must be a number of milliseconds`)
  if (!(value >= 0)) throw rangeError(codes.OUT_OF_RANGE, `${method}(): the timeout must be >= 0 (or Infinity), got ${value}`)
  return value
}

interface Pending {
  resolve(result: WaitResult): void
  reject(err: Error): void
  done(): void
  /**
   * The rejection of an aborted wait, held until the waiting thread has reported back: only then has
   * it left the kernel, so a notify() after the rejection no longer counts (or wakes) it.
   */
  aborted: Error | null
}

const pending = new Map<number, Pending>()

function dispatch(id: number, result: number): void {
  const p = pending.get(id)
  if (p === undefined) return // settled already (aborted)
  pending.delete(id)
  p.done()
  if (p.aborted !== null) p.reject(p.aborted)
  else if (result >= 0 && result <= 2) p.resolve(RESULTS[result])
  else if (result === 4) p.reject(plainError(codes.RELEASED, 'waitAsync(): the memory was closed while waiting'))
  else if (result === 3) p.reject(plainError(codes.ABORTED, 'waitAsync() was cancelled'))
  else {
    // The kernel refused the wait: a system error, named and shaped as the addon names them.
    const err = plainError(getSystemErrorName(result), `futex failed: errno ${-result}`) as Error & { errno: number; syscall: string }
    err.errno = result
    err.syscall = 'futex'
    p.reject(err)
  }
}

/** @internal The rejection of an aborted wait: Error ERR_MEMORYVIEW_ABORTED whose `cause` is the signal's reason. */
export function abortedError(signal: AbortSignal, what = 'waitAsync()'): Error {
  const err = plainError(codes.ABORTED, `${what} was aborted`)
  ;(err as Error & { cause?: unknown }).cause = signal.reason
  return err
}

/**
 * @internal The word-level wait under waitAsync() and the Channel: resolves with the result, or
 * rejects as waitAsync() documents. `words[index]` must lie in shared memory.
 */
export function waitWord(words: Int32Array, index: number, expected: number, timeoutMs: number, signal?: AbortSignal): Promise<WaitResult> {
  if (signal?.aborted) return Promise.reject(abortedError(signal))
  if (Atomics.load(words, index) !== (expected | 0)) return Promise.resolve('not-equal')
  if (timeoutMs === 0) return Promise.resolve('timed-out')
  const binding = requireBinding('waitAsync()')
  // Outside the executor: TOO_MANY_WAITS is thrown synchronously, as waitAsync() documents. The
  // dispatcher runs on a later turn of the event loop, after `pending` has the id.
  const id = binding.waitAsync(words, index, expected, timeoutMs, dispatch)
  return new Promise<WaitResult>((resolve, reject) => {
    let onAbort: (() => void) | undefined
    const entry: Pending = {
      resolve,
      reject,
      done: () => {
        if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort)
      },
      aborted: null,
    }
    if (signal !== undefined) {
      // The Promise rejects when the cancelled thread reports back (dispatch()), not here: the
      // thread may still be asleep in the kernel for a moment, and a notify() in between would
      // count it as woken.
      onAbort = (): void => {
        entry.aborted = abortedError(signal)
        binding.waitCancel(id)
      }
      signal.addEventListener('abort', onAbort, { once: true })
    }
    pending.set(id, entry)
  })
}

/** @internal notify() on a word: wakes up to `count` waiters (Infinity: all). */
export function notifyWord(words: Int32Array, index: number, count: number): number {
  return requireBinding('notify()').notify(words, index, count)
}

function wait(this: MemoryView<string>, index: number | bigint, expected: number | bigint, timeoutMs?: number): WaitResult {
  const w = resolveWord(this, 'wait', index, expected)
  const timeout = timeoutOf(timeoutMs, 'wait')
  return RESULTS[requireBinding('wait()').wait(w.words, w.index, w.expected, timeout)]
}

function waitAsync(this: MemoryView<string>, index: number | bigint, expected: number | bigint, options?: WaitAsyncOptions): Promise<WaitResult> {
  const w = resolveWord(this, 'waitAsync', index, expected)
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw typeError(codes.INVALID_ARG, 'waitAsync(): options must be an object')
  }
  const timeout = timeoutOf(options?.timeout, 'waitAsync')
  const signal = options?.signal
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw typeError(codes.INVALID_ARG, 'waitAsync(): signal must be an AbortSignal')
  return waitWord(w.words, w.index, w.expected, timeout, signal)
}

function notify(this: MemoryView<string>, index: number | bigint, count?: number): number {
  const w = resolveWord(this, 'notify', index)
  let n = Infinity
  if (count !== undefined) {
    if (typeof count !== 'number' || (!Number.isInteger(count) && count !== Infinity)) {
      throw typeError(codes.INVALID_ARG, 'notify(): count must be an integral number or Infinity')
    }
    if (count < 0) throw rangeError(codes.OUT_OF_RANGE, `notify(): count must be >= 0, got ${count}`)
    n = count
  }
  return notifyWord(w.words, w.index, n)
}

for (const [name, fn] of [['wait', wait], ['waitAsync', waitAsync], ['notify', notify]] as const) {
  Object.defineProperty(MemoryView.prototype, name, { value: fn, writable: true, configurable: true, enumerable: false })
}
