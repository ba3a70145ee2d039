// Per-environment state of the addon.
//
// Ownership rules:
// - One AddonData exists per Node-API environment (main thread or worker). It
//   is created by Init() and handed to the environment with SetInstanceData;
//   the environment deletes it at teardown, after every wrapped object's
//   finalizer has run.
// - The FunctionReferences are strong references: they keep the error classes
//   handed to init() and a few JS builtins alive for the environment's life.
// - release_queue is owned by the environment's thread-safe-function
//   machinery; it is unreferenced (it never keeps the event loop alive) and
//   release_queue_alive turns false when Node-API finalizes it at teardown, so
//   that no finalizer posts to a queue that no longer exists.

#ifndef MEMORYVIEW_NATIVE_ADDON_DATA_H_
#define MEMORYVIEW_NATIVE_ADDON_DATA_H_

#include <napi.h>

namespace memoryview {

struct DeferredRelease;
struct AddonData;
struct WaitState;
void DeleteWaitState(WaitState* state);

// Runs on the main thread for each DeferredRelease posted to the queue.
void CallDeferredRelease(Napi::Env env, Napi::Function unused,
                         AddonData* data, DeferredRelease* item);

using ReleaseQueue =
    Napi::TypedThreadSafeFunction<AddonData, DeferredRelease,
                                  CallDeferredRelease>;

struct AddonData {
  // Error classes used for errors thrown by native code. init() replaces the
  // defaults (the realm's built-ins, BufferError falling back to Error).
  Napi::FunctionReference error;
  Napi::FunctionReference type_error;
  Napi::FunctionReference range_error;
  Napi::FunctionReference buffer_error;
  bool buffer_error_set = false;

  // Builtins captured at load time: the Uint8Array constructor gives native
  // code the data pointer of a SharedArrayBuffer (Node-API 8 has no direct
  // call for it); the two getters are exact brand checks.
  Napi::FunctionReference uint8_array;
  Napi::FunctionReference sab_byte_length;
  Napi::FunctionReference ab_resizable;

  ReleaseQueue release_queue;
  bool release_queue_alive = false;

  // The pending asynchronous waits (wait.h); created by the first
  // waitAsync(), freed with the environment.
  WaitState* waits = nullptr;

  AddonData() = default;
  AddonData(const AddonData&) = delete;
  AddonData& operator=(const AddonData&) = delete;
  ~AddonData() { DeleteWaitState(waits); }
};

// The AddonData of `env`; never null once Init() ran.
AddonData* GetAddonData(Napi::Env env);

}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_ADDON_DATA_H_
