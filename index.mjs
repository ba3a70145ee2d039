// The ESM entry re-exports the CommonJS core so that both module systems see one class identity.
import core from './dist/lib/index.js'

export const {
  MemoryView,
  memoryview,
  BufferError,
  Pin,
  BUFFER_PROTOCOL,
  nativeAvailable,
} = core
export default core
