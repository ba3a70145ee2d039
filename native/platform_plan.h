// The rules deciding how much of a file to map, or why not, and the page
// arithmetic of the paging calls, shared by every platform layer
// (platform_posix.cc, platform_win32.cc), so that a refusal or a count is the
// same on every OS. Only those files include this header.
//
// Ownership rules: none (nothing opened; every function but AdviseAndTouch(),
// which calls the layer's Advise(), is pure: no system call).

#ifndef MEMORYVIEW_NATIVE_PLATFORM_PLAN_H_
#define MEMORYVIEW_NATIVE_PLATFORM_PLAN_H_

#include <cstdint>

#include "platform.h"

namespace memoryview {

// Decides how many bytes to map of a file of `file_size` bytes (`regular`:
// a regular file, whose size bounds the range), or why not. Makes no system
// call, so callers can ask before they grow a file. The range checks come
// first: a range outside the file is refused as such whatever its length.
inline MapRefusal PlanLength(bool regular, int64_t file_size, int64_t offset,
                             int64_t length, int64_t max_length,
                             int64_t* planned) {
  if (regular) {
    if (length == 0) {
      if (file_size == 0) return MapRefusal::kEmptyFile;
      if (offset >= file_size) return MapRefusal::kOffsetPastEnd;
      length = file_size - offset;
    } else if (offset > file_size || file_size - offset < length) {
      return MapRefusal::kLengthPastEnd;
    }
  } else if (length == 0) {
    return MapRefusal::kEmptyFile;
  }
  *planned = length;
  return length > max_length ? MapRefusal::kTooLarge : MapRefusal::kNone;
}

// Records a refusal; returns 0 (a refusal is not a failed system call).
inline int Refuse(MapResult* out, MapRefusal refusal, int64_t planned) {
  out->refusal = refusal;
  if (refusal == MapRefusal::kTooLarge) out->refused_length = planned;
  return 0;
}

// The span [start, end) covering [offset, offset + length) from the start of
// its first page of `page` bytes: `start` is rounded down to a page, `end` is
// not rounded (madvise, mincore and the working-set query take in the whole
// of the last page themselves).
inline void PageSpan(int64_t page, int64_t offset, int64_t length,
                     int64_t* start, int64_t* end) {
  *start = offset - offset % page;
  *end = offset + length;
}

// How many bytes of the resident page starting at `lo` lie inside the asked
// range [offset, end): only that part of each page counts.
inline int64_t BytesInRange(int64_t lo, int64_t page, int64_t offset,
                            int64_t end) {
  int64_t hi = lo + page;
  if (lo < offset) lo = offset;
  if (hi > end) hi = end;
  return hi - lo;
}

// Reads one byte of every page of [start, end): the advice to read ahead only
// starts the reads, and this waits for each page to arrive and maps it, so
// the scan that follows takes no fault that blocks on I/O.
inline void TouchPages(const void* addr, int64_t start, int64_t end,
                       int64_t page) {
  const volatile unsigned char* base =
      static_cast<const volatile unsigned char*>(addr);
  unsigned char sink = 0;
  for (int64_t at = start; at < end; at += page) sink ^= base[at];
  (void)sink;
}

// Prefetch() of every platform layer, whose own page size is `page`: the
// advice to read ahead, then one byte of every page read (TouchPages()).
inline int AdviseAndTouch(void* addr, int64_t offset, int64_t length,
                          int64_t page) {
  int rc = Advise(addr, offset, length, Advice::kWillNeed);
  if (rc != 0) return rc;
  int64_t start, end;
  PageSpan(page, offset, length, &start, &end);
  TouchPages(addr, start, end, page);
  return 0;
}

}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_PLATFORM_PLAN_H_
