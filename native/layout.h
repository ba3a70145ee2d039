// Strided layout validation for the addon.
//
// Ownership rules: nothing here owns memory. The logic lives in the public
// header-only include/memoryview_layout.h, so that the addon and other addons
// built against include/memoryview.h validate layouts with the same code.

#ifndef MEMORYVIEW_NATIVE_LAYOUT_H_
#define MEMORYVIEW_NATIVE_LAYOUT_H_

#include "../include/memoryview_layout.h"

#endif  // MEMORYVIEW_NATIVE_LAYOUT_H_
