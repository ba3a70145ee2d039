// Strided layout validation: pure C++, no Node-API.
//
// Ownership rules: nothing here owns memory; callers pass arrays they own
// and receive plain values. Kept free of Node-API so that the header-only
// consumer API (include/memoryview.h) can apply the very same checks.
//
// Assumptions: sizes and offsets are byte counts held in int64_t; JS hands
// them over as safe integers (|x| <= 2**53 - 1), but every product and sum is
// still checked, so any int64_t input is handled without undefined behaviour.

#ifndef MEMORYVIEW_NATIVE_LAYOUT_H_
#define MEMORYVIEW_NATIVE_LAYOUT_H_

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

/// Checks a layout against a buffer of `buffer_length` bytes and computes its
/// extent. `byte_offset` is the offset of element [0, ..., 0]. Returns an
/// empty string when the layout is valid, else a message that says why not.
/// Checks, in order: ndim <= 64, itemsize > 0, shape[i] >= 0, 0 <=
/// byte_offset <= buffer_length, no int64 overflow in itemsize * product(shape)
/// or in any shape[i] * strides[i] sum, and the extent [lowest, end) inside
/// [0, buffer_length).
std::string CheckLayout(int64_t buffer_length, int64_t byte_offset,
                        int64_t itemsize, int64_t ndim, const int64_t* shape,
                        const int64_t* strides, Extent* extent);

}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_LAYOUT_H_
