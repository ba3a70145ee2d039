// Strided layout validation: pure C++, no Node-API, header-only.
//
// Ownership rules: nothing here owns memory; callers pass arrays they own
// and receive plain values. Kept free of Node-API and header-only so that the
// addon (native/layout.h includes this file) and the public header-only API
// (include/memoryview.h) apply the very same checks.
//
// Assumptions: sizes and offsets are byte counts held in int64_t; JS hands
// them over as safe integers (|x| <= 2**53 - 1), but every product and sum is
// still checked, so any int64_t input is handled without undefined behaviour.

#ifndef MEMORYVIEW_LAYOUT_H_
#define MEMORYVIEW_LAYOUT_H_

#include <cstdint>
#include <string>

namespace memoryview {

/// The most dimensions a view may have (CPython's PyBUF_MAX_NDIM).
inline constexpr int64_t kMaxNdim = 64;

/// The bytes a strided layout touches, relative to the start of its buffer.
struct Extent {
  /// Lowest byte offset touched (== byte_offset when nothing reaches below).
  int64_t lowest = 0;
  /// One past the highest byte offset touched (== lowest when empty).
  int64_t end = 0;
  /// itemsize * product(shape): PEP 3118's `len`.
  int64_t nbytes = 0;
};

/// Checked arithmetic used by CheckLayout (not part of the API).
namespace layout_internal {

// gcc and clang check overflow with one instruction; MSVC has no such
// builtin, so it (and MEMORYVIEW_PORTABLE_OVERFLOW, which tests this path
// with gcc) divides first instead. Both give the same answers for every
// int64_t input.
#if (defined(__GNUC__) || defined(__clang__)) && \
    !defined(MEMORYVIEW_PORTABLE_OVERFLOW)
#define MEMORYVIEW_BUILTIN_OVERFLOW 1
#endif

/// a * b into *out; true when it overflows (then *out is unchanged or
/// wrapped, and must not be used).
inline bool MulOverflows(int64_t a, int64_t b, int64_t* out) {
#ifdef MEMORYVIEW_BUILTIN_OVERFLOW
  return __builtin_mul_overflow(a, b, out);
#else
  if (a == 0 || b == 0) {
    *out = 0;
    return false;
  }
  bool overflows =
      a > 0 ? (b > 0 ? a > INT64_MAX / b : b < INT64_MIN / a)
            : (b > 0 ? a < INT64_MIN / b : a < INT64_MAX / b);
  if (overflows) return true;
  *out = a * b;
  return false;
#endif
}

/// a + b into *out; true when it overflows.
inline bool AddOverflows(int64_t a, int64_t b, int64_t* out) {
#ifdef MEMORYVIEW_BUILTIN_OVERFLOW
  return __builtin_add_overflow(a, b, out);
#else
  if (b > 0 ? a > INT64_MAX - b : a < INT64_MIN - b) return true;
  *out = a + b;
  return false;
#endif
}

}  // namespace layout_internal

/// Checks a layout against a buffer of `buffer_length` bytes and computes its
/// extent. `byte_offset` is the offset of element [0, ..., 0]. Returns an
/// empty string when the layout is valid, else a message that says why not.
/// Checks, in order: ndim <= 64, itemsize > 0, shape[i] >= 0, 0 <=
/// byte_offset <= buffer_length, no int64 overflow in itemsize * product(shape)
/// or in any shape[i] * strides[i] sum, and the extent [lowest, end) inside
/// [0, buffer_length).
inline std::string CheckLayout(int64_t buffer_length, int64_t byte_offset,
                               int64_t itemsize, int64_t ndim,
                               const int64_t* shape, const int64_t* strides,
                               Extent* extent) {
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
    if (layout_internal::MulOverflows(nbytes, shape[i], &nbytes)) {
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
    if (layout_internal::MulOverflows(shape[i] - 1, strides[i], &span)) {
      return "shape[" + std::to_string(i) + "] * strides[" +
             std::to_string(i) + "] overflows 64 bits";
    }
    if (layout_internal::AddOverflows(span < 0 ? low : high, span, span < 0 ? &low : &high)) {
      return "the extent of shape x strides overflows 64 bits";
    }
  }
  int64_t end;
  if (layout_internal::AddOverflows(high, itemsize, &end)) {
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

#endif  // MEMORYVIEW_LAYOUT_H_
