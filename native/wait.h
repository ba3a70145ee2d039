// wait/notify on 32-bit words of shared memory, for lib/wait.ts.
//
// Ownership rules:
// - The word is addressed through an Int32Array/Uint32Array JS passes in
//   (over a SharedArrayBuffer, shared memory or a 'write' file mapping); JS
//   keeps that array reachable until the wait settles, and native code holds
//   only its data address.
// - A synchronous wait blocks the calling JS thread in the kernel.
// - An asynchronous wait is a Waiter owned by its environment's WaitState
//   (AddonData::waits), served by one dedicated thread per pending wait (not
//   a libuv thread-pool thread, so pending waits never starve fs, dns or
//   zlib). The thread touches only its Waiter and posts its id to the
//   environment's thread-safe function when done; the JS thread then joins
//   it, deletes the Waiter and calls the JS dispatcher with the result.
// - Cancelling (AbortSignal, the memory being unmapped, environment
//   teardown) sets the Waiter's private cancel word and wakes only it. At
//   teardown the cleanup hook cancels and joins every thread before the
//   thread-safe function is finalized, so no thread outlives the environment
//   and no JS state is touched after it is gone.

#ifndef MEMORYVIEW_NATIVE_WAIT_H_
#define MEMORYVIEW_NATIVE_WAIT_H_

#include <napi.h>

#include <cstddef>

namespace memoryview {

struct WaitState;

// JS: wait(int32array, index, expected, timeoutMs) -> 0 ok, 1 not-equal,
// 2 timed-out. timeoutMs: a non-negative number or Infinity.
Napi::Value WaitJs(const Napi::CallbackInfo& info);

// JS: waitAsync(int32array, index, expected, timeoutMs, dispatcher) -> id.
// dispatcher(id, result) is called once, on this thread, with 0 ok,
// 1 not-equal, 2 timed-out, 3 cancelled, 4 released (unmapped), or a
// negative errno.
Napi::Value WaitAsyncJs(const Napi::CallbackInfo& info);

// JS: waitCancel(id) -> boolean (false when it already settled). The
// dispatcher is still called, with 3.
Napi::Value WaitCancelJs(const Napi::CallbackInfo& info);

// JS: notify(int32array, index, count) -> how many waiters woke (in every
// process). count: a non-negative integer, or Infinity for all.
Napi::Value NotifyJs(const Napi::CallbackInfo& info);

// JS: pendingWaits() -> the asynchronous waits of this environment not yet
// settled (threads alive).
Napi::Value PendingWaitsJs(const Napi::CallbackInfo& info);

// Settles (with 4, released) every asynchronous wait of `env` on a word in
// [addr, addr + length): called before that memory is unmapped.
void CancelWaitsInRange(Napi::Env env, const void* addr, size_t length);

// Frees a WaitState (the environment's teardown; threads already joined).
void DeleteWaitState(WaitState* state);

}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_WAIT_H_
