// The ESM entry re-exports the CommonJS core so that both module systems see one class identity.
import core from './dist/lib/index.js'

export const {
  MemoryView,
  memoryview,
  Pin,
  BufferError,
  isMemoryViewError,
  codes,
  BUFFER_PROTOCOL,
  nativeAvailable,
  nativeLoadError,
  NativeExportHandle,
  exportToNative,
  MappedFile,
  mmap,
  allocationGranularity,
  SharedMemory,
  NATIVE_API,
  NativeMemory,
  bufferFlags,
  include,
} = core
export default core
