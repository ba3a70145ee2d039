#include "wait.h"

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "addon_data.h"
#include "errors.h"
#include "platform.h"

namespace memoryview {

namespace {

// At most this many asynchronous waits per environment: each holds a thread
// (with a small stack, but a thread all the same).
constexpr size_t kMaxPendingWaits = 1024;

// What the JS dispatcher receives for a cancelled wait: kCancelled (an
// AbortSignal, teardown) or one past it, kResultReleased (the memory unmapped).
constexpr int kResultCancelled = static_cast<int>(WaitResult::kCancelled);
constexpr int kResultReleased = kResultCancelled + 1;

struct Waiter {
  uint64_t id = 0;
  const uint32_t* addr = nullptr;
  uint32_t expected = 0;
  int64_t timeout_ns = -1;
  // Private to this waiter: WakeCancel() on it wakes this thread only.
  uint32_t cancel = 0;
  // Why it was cancelled, read after join(): cancelled or released.
  int cancel_result = kResultCancelled;
  int result = 0;
  std::thread thread;
};

void CallDispatcher(Napi::Env env, Napi::Function dispatcher, WaitState* state,
                    void* id);

using DoneQueue =
    Napi::TypedThreadSafeFunction<WaitState, void, CallDispatcher>;

}  // namespace

struct WaitState {
  napi_env env = nullptr;
  DoneQueue done;
  bool done_alive = false;
  uint64_t next_id = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Waiter>> waiters;
};

namespace {

void Settle(Napi::Env env, WaitState* state, uint64_t id,
            Napi::Function dispatcher) {
  auto it = state->waiters.find(id);
  if (it == state->waiters.end()) return;
  std::unique_ptr<Waiter> waiter = std::move(it->second);
  state->waiters.erase(it);
  waiter->thread.join();
  if (state->waiters.empty()) state->done.Unref(env);
  int result = waiter->result;
  if (result == kResultCancelled) result = waiter->cancel_result;
  dispatcher.Call({Napi::Number::New(env, static_cast<double>(id)),
                   Napi::Number::New(env, result)});
}

void CallDispatcher(Napi::Env env, Napi::Function dispatcher, WaitState* state,
                    void* id) {
  // At teardown (env null) the cleanup hook has joined and freed every
  // waiter already; there is nothing to settle.
  if (env == nullptr || dispatcher.IsEmpty()) return;
  Settle(env, state, reinterpret_cast<uintptr_t>(id), dispatcher);
}

void OnDoneFinalized(Napi::Env /*env*/, void* /*unused*/, WaitState* state) {
  state->done_alive = false;
}

void CancelAll(void* arg) {
  auto* state = static_cast<WaitState*>(arg);
  for (auto& entry : state->waiters) WakeCancel(&entry.second->cancel);
  for (auto& entry : state->waiters) entry.second->thread.join();
  state->waiters.clear();
}

WaitState* StateOf(Napi::Env env) {
  AddonData* data = GetAddonData(env);
  if (data->waits == nullptr) {
    data->waits = new WaitState();
    data->waits->env = env;
  }
  return data->waits;
}

// The address of element `index` of the Int32Array/Uint32Array argument 0.
uint32_t* WordArg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) {
    ThrowError(env, ErrorKind::kTypeError, kCodeInvalidArg,
               "expected an Int32Array or Uint32Array");
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  // The data pointer straight from the TypedArray: its buffer may be a
  // SharedArrayBuffer, which Node-API 8 cannot read as an ArrayBuffer.
  napi_status status = napi_get_typedarray_info(env, info[0], &type, &length,
                                                &data, nullptr, nullptr);
  NAPI_THROW_IF_FAILED(env, status, nullptr);
  if (type != napi_int32_array && type != napi_uint32_array) {
    ThrowError(env, ErrorKind::kTypeError, kCodeInvalidArg,
               "expected an Int32Array or Uint32Array");
  }
  double index = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue()
                                    : -1;
  if (!(index >= 0 && index < static_cast<double>(length)) ||
      index != std::floor(index)) {
    ThrowError(env, ErrorKind::kRangeError, kCodeOutOfRange,
               "word index out of range");
  }
  if (data == nullptr) {
    ThrowError(env, ErrorKind::kError, kCodeReleased,
               "the memory is detached");
  }
  auto* base = static_cast<uint8_t*>(data);
  return reinterpret_cast<uint32_t*>(base) + static_cast<size_t>(index);
}

uint32_t ExpectedArg(const Napi::CallbackInfo& info) {
  if (!info[2].IsNumber()) {
    ThrowError(info.Env(), ErrorKind::kTypeError, kCodeInvalidArg,
               "expected must be a number");
  }
  // Int32 and Uint32 elements compare as the same 32 bits.
  return static_cast<uint32_t>(info[2].As<Napi::Number>().Int64Value());
}

// Milliseconds (Infinity: none) to nanoseconds (-1: none).
int64_t TimeoutArg(const Napi::CallbackInfo& info) {
  double ms = info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue()
                                 : INFINITY;
  if (std::isnan(ms) || ms >= 9.2e12) return -1;
  if (ms <= 0) return 0;
  return static_cast<int64_t>(ms * 1e6);
}


}  // namespace

Napi::Value WaitJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t* addr = WordArg(info);
  uint32_t expected = ExpectedArg(info);
  int64_t timeout_ns = TimeoutArg(info);
  WaitResult result;
  int rc = WaitOnAddress(addr, expected, timeout_ns, nullptr, &result);
  if (rc < 0) ThrowSystemError(env, rc, "futex");
  return Napi::Number::New(env, static_cast<int>(result));
}

Napi::Value WaitAsyncJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t* addr = WordArg(info);
  uint32_t expected = ExpectedArg(info);
  int64_t timeout_ns = TimeoutArg(info);
  if (!info[4].IsFunction()) {
    ThrowError(env, ErrorKind::kTypeError, kCodeInvalidArg,
               "waitAsync needs a dispatcher function");
  }
  WaitState* state = StateOf(env);
  if (state->waiters.size() >= kMaxPendingWaits) {
    ThrowError(env, ErrorKind::kRangeError, "ERR_MEMORYVIEW_TOO_MANY_WAITS",
               "too many pending waitAsync() calls in this thread (at most " +
                   std::to_string(kMaxPendingWaits) +
                   "): each holds a thread; settle or abort some first");
  }
  if (!state->done_alive) {
    state->done = DoneQueue::New(env, info[4].As<Napi::Function>(),
                                 "memoryview.waitAsync", 0, 1, state,
                                 OnDoneFinalized,
                                 static_cast<void*>(nullptr));
    state->done.Unref(env);
    state->done_alive = true;
    // Registered after the thread-safe function, so that it runs before the
    // function's own teardown (hooks run in reverse order).
    napi_add_env_cleanup_hook(env, CancelAll, state);
  }
  auto waiter = std::make_unique<Waiter>();
  Waiter* w = waiter.get();
  w->id = state->next_id++;
  w->addr = addr;
  w->expected = expected;
  w->timeout_ns = timeout_ns;
  DoneQueue done = state->done;
  try {
    w->thread = std::thread([w, done]() mutable {
      WaitResult result;
      int rc = WaitOnAddress(w->addr, w->expected, w->timeout_ns, &w->cancel,
                             &result);
      // An error goes to JS as libuv's code, which lib/wait.ts names with
      // util.getSystemErrorName() (on Windows not the C runtime's -errno).
      w->result = rc < 0 ? UvErrno(rc) : static_cast<int>(result);
      done.NonBlockingCall(reinterpret_cast<void*>(w->id));
    });
  } catch (const std::system_error&) {
    ThrowError(env, ErrorKind::kRangeError, "ERR_MEMORYVIEW_TOO_MANY_WAITS",
               "cannot start a thread for waitAsync(): the system refused "
               "one; settle or abort some waits first");
  }
  if (state->waiters.empty()) state->done.Ref(env);
  state->waiters.emplace(w->id, std::move(waiter));
  return Napi::Number::New(env, static_cast<double>(w->id));
}

Napi::Value WaitCancelJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WaitState* state = StateOf(env);
  uint64_t id = static_cast<uint64_t>(info[0].ToNumber().Int64Value());
  auto it = state->waiters.find(id);
  if (it == state->waiters.end()) return Napi::Boolean::New(env, false);
  it->second->cancel_result = kResultCancelled;
  WakeCancel(&it->second->cancel);
  return Napi::Boolean::New(env, true);
}

Napi::Value NotifyJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t* addr = WordArg(info);
  double count = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue()
                                    : INFINITY;
  int n = count >= 2147483647.0 ? 2147483647
                                : (count > 0 ? static_cast<int>(count) : 0);
  if (n == 0) return Napi::Number::New(env, 0);
  int rc = WakeAddress(addr, n);
  if (rc < 0) ThrowSystemError(env, rc, "futex");
  return Napi::Number::New(env, rc);
}

Napi::Value PendingWaitsJs(const Napi::CallbackInfo& info) {
  AddonData* data = GetAddonData(info.Env());
  size_t n = data->waits == nullptr ? 0 : data->waits->waiters.size();
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

void CancelWaitsInRange(Napi::Env env, const void* addr, size_t length) {
  WaitState* state = GetAddonData(env)->waits;
  if (state == nullptr) return;
  auto begin = reinterpret_cast<uintptr_t>(addr);
  for (auto& entry : state->waiters) {
    auto word = reinterpret_cast<uintptr_t>(entry.second->addr);
    if (word >= begin && word < begin + length) {
      entry.second->cancel_result = kResultReleased;
      WakeCancel(&entry.second->cancel);
    }
  }
}

void DeleteWaitState(WaitState* state) { delete state; }

}  // namespace memoryview
