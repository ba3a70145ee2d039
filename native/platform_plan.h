// The rules deciding how much of a file to map, or why not, shared by every
// platform layer (platform_posix.cc, platform_win32.cc), so that a refusal
// is the same on every OS. Only those files include this header.
//
// Ownership rules: none (pure functions: no system call, nothing opened).

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

}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_PLATFORM_PLAN_H_
