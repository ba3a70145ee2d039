import { expect } from 'chai'

type ErrorClass = new (...args: any[]) => Error

/**
 * Runs `fn` and asserts that it throws an instance of `cls` carrying `code`.
 * When `cls` is plain `Error` the error must not be one of the more specific built-in
 * classes, because the error mapping gives those a different meaning.
 * Returns the error so a test can look further (e.g. at `message`).
 */
export function expectError(fn: () => unknown, cls: ErrorClass, code: string): Error & { code?: string } {
  let caught: unknown
  let threw = false
  try {
    fn()
  } catch (err) {
    threw = true
    caught = err
  }
  expect(threw, `expected ${cls.name} ${code} to be thrown`).to.equal(true)
  const err = caught as Error & { code?: string }
  expect(err, `expected ${cls.name} ${code}, got ${String(err)}`).to.be.instanceOf(cls)
  if (cls === Error) {
    expect(err, `expected plain Error ${code}, got ${String(err)}`).not.to.be.instanceOf(TypeError)
    expect(err, `expected plain Error ${code}, got ${String(err)}`).not.to.be.instanceOf(RangeError)
  }
  expect(err.code, `wrong code for ${String(err)}`).to.equal(code)
  return err
}

export const RELEASED = 'ERR_MEMORYVIEW_RELEASED'
export const READONLY = 'ERR_MEMORYVIEW_READONLY'
export const INDEX = 'ERR_MEMORYVIEW_INDEX'
export const EXPORTED = 'ERR_MEMORYVIEW_EXPORTED'
export const NOT_IMPLEMENTED = 'ERR_MEMORYVIEW_NOT_IMPLEMENTED'
export const INVALID_SOURCE = 'ERR_MEMORYVIEW_INVALID_SOURCE'
export const INVALID_INDEX = 'ERR_MEMORYVIEW_INVALID_INDEX'
export const INVALID_VALUE = 'ERR_MEMORYVIEW_INVALID_VALUE'
export const INVALID_TYPE = 'ERR_MEMORYVIEW_INVALID_TYPE'
export const STRUCTURE = 'ERR_MEMORYVIEW_STRUCTURE'
export const FORMAT = 'ERR_MEMORYVIEW_FORMAT'
export const CAST = 'ERR_MEMORYVIEW_CAST'
export const OUT_OF_RANGE = 'ERR_MEMORYVIEW_OUT_OF_RANGE'
export const INVALID_ARG = 'ERR_MEMORYVIEW_INVALID_ARG'
export const HASH = 'ERR_MEMORYVIEW_HASH'
export const NOT_CONTIGUOUS = 'ERR_MEMORYVIEW_NOT_CONTIGUOUS'
export const OUT_OF_BOUNDS = 'ERR_MEMORYVIEW_OUT_OF_BOUNDS'
export const NOT_SHAREABLE = 'ERR_MEMORYVIEW_NOT_SHAREABLE'
export const INVALID_DESCRIPTOR = 'ERR_MEMORYVIEW_INVALID_DESCRIPTOR'
export const PAST_EOF = 'ERR_MEMORYVIEW_PAST_EOF'
export const NOT_CLONEABLE = 'ERR_MEMORYVIEW_NOT_CLONEABLE'
export const NOT_ATOMIC = 'ERR_MEMORYVIEW_NOT_ATOMIC'
export const UNALIGNED = 'ERR_MEMORYVIEW_UNALIGNED'
export const ABORTED = 'ERR_MEMORYVIEW_ABORTED'
export const CHANNEL_CLOSED = 'ERR_MEMORYVIEW_CHANNEL_CLOSED'
export const CHANNEL_INVALID = 'ERR_MEMORYVIEW_CHANNEL_INVALID'
export const PEER_GONE = 'ERR_MEMORYVIEW_PEER_GONE'
export const MESSAGE_TOO_LARGE = 'ERR_MEMORYVIEW_MESSAGE_TOO_LARGE'
