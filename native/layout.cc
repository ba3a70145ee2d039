#include "layout.h"

namespace memoryview {

namespace {

bool MulOverflows(int64_t a, int64_t b, int64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}

bool AddOverflows(int64_t a, int64_t b, int64_t* out) {
  return __builtin_add_overflow(a, b, out);
}

}  // namespace

std::string CheckLayout(int64_t buffer_length, int64_t byte_offset,
                        int64_t itemsize, int64_t ndim, const int64_t* shape,
                        const int64_t* strides, Extent* extent) {
  if (ndim < 0 || ndim > kMaxNdim) {
    return "number of dimensions must not exceed 64 (got " +
           std::to_string(ndim) + ")";
  }
  if (itemsize <= 0) {
    return "itemsize must be > 0 (got " + std::to_string(itemsize) + ")";
  }
  for (int64_t i = 0; i < ndim; ++i) {
    if (shape[i] < 0) {
      return "shape[" + std::to_string(i) + "] must be >= 0 (got " +
             std::to_string(shape[i]) + ")";
    }
  }
  if (buffer_length < 0 || byte_offset < 0 || byte_offset > buffer_length) {
    return "byteOffset " + std::to_string(byte_offset) +
           " is outside the buffer of " + std::to_string(buffer_length) +
           " bytes";
  }

  int64_t nbytes = itemsize;
  bool empty = false;
  for (int64_t i = 0; i < ndim; ++i) {
    if (MulOverflows(nbytes, shape[i], &nbytes)) {
      return "itemsize * product(shape) overflows 64 bits";
    }
    if (shape[i] == 0) empty = true;
  }
  if (empty) {
    // Nothing is touched; strides of an empty view are never followed.
    *extent = Extent{byte_offset, byte_offset, 0};
    return std::string();
  }

  // Walk each dimension's span (shape - 1) * stride from element [0, ..., 0]:
  // negative strides move the low end down, positive ones move the high end
  // up. Every step is checked, so no input can wrap around.
  int64_t low = byte_offset;
  int64_t high = byte_offset;
  for (int64_t i = 0; i < ndim; ++i) {
    int64_t span;
    if (MulOverflows(shape[i] - 1, strides[i], &span)) {
      return "shape[" + std::to_string(i) + "] * strides[" +
             std::to_string(i) + "] overflows 64 bits";
    }
    if (AddOverflows(span < 0 ? low : high, span, span < 0 ? &low : &high)) {
      return "the extent of shape x strides overflows 64 bits";
    }
  }
  int64_t end;
  if (AddOverflows(high, itemsize, &end)) {
    return "the extent of shape x strides overflows 64 bits";
  }
  if (low < 0 || end > buffer_length) {
    return "shape x strides from byteOffset " + std::to_string(byte_offset) +
           " reach bytes [" + std::to_string(low) + ", " +
           std::to_string(end) + "), outside the buffer of " +
           std::to_string(buffer_length) + " bytes";
  }
  *extent = Extent{low, end, nbytes};
  return std::string();
}

}  // namespace memoryview
