// The addon's exports table. Native code here does three things only: pin
// JS memory (pin.h), hand validated strided descriptors across the boundary
// (export.h), and, in later issues, map external memory. lib/binding.ts is the
// only module that loads it.

#include <napi.h>

#include "addon_data.h"
#include "errors.h"
#include "export.h"
#include "mapping.h"
#include "pin.h"
#include "wait.h"

namespace memoryview {

namespace {

// Version of the JS <-> native contract below; lib/binding.ts refuses an
// addon with another version (a stale build/ or prebuild).
constexpr int kAbiVersion = 7;

Napi::FunctionReference PropertyGetter(Napi::Env env, const char* global,
                                       const char* name) {
  Napi::Value constructor = env.Global().Get(global);
  if (!constructor.IsFunction()) return Napi::FunctionReference();
  Napi::Object prototype =
      constructor.As<Napi::Object>().Get("prototype").As<Napi::Object>();
  Napi::Object object_class = env.Global().Get("Object").As<Napi::Object>();
  Napi::Value descriptor =
      object_class.Get("getOwnPropertyDescriptor")
          .As<Napi::Function>()
          .Call(object_class, {prototype, Napi::String::New(env, name)});
  if (!descriptor.IsObject()) return Napi::FunctionReference();
  Napi::Value getter = descriptor.As<Napi::Object>().Get("get");
  if (!getter.IsFunction()) return Napi::FunctionReference();
  return Napi::Persistent(getter.As<Napi::Function>());
}

void OnReleaseQueueFinalized(Napi::Env /*env*/, void* /*unused*/,
                             AddonData* data) {
  data->release_queue_alive = false;
}

Napi::Value LivePinsJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LivePins()));
}

Napi::Value LiveExportsJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LiveExports()));
}

}  // namespace

AddonData* GetAddonData(Napi::Env env) {
  return env.GetInstanceData<AddonData>();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  data->error = Napi::Persistent(env.Global().Get("Error").As<Napi::Function>());
  data->type_error =
      Napi::Persistent(env.Global().Get("TypeError").As<Napi::Function>());
  data->range_error =
      Napi::Persistent(env.Global().Get("RangeError").As<Napi::Function>());
  data->uint8_array =
      Napi::Persistent(env.Global().Get("Uint8Array").As<Napi::Function>());
  data->sab_byte_length =
      PropertyGetter(env, "SharedArrayBuffer", "byteLength");
  data->ab_resizable = PropertyGetter(env, "ArrayBuffer", "resizable");

  data->release_queue = ReleaseQueue::New(
      env, "memoryview.deferredRelease", 0, 1, data, OnReleaseQueueFinalized,
      static_cast<void*>(nullptr));
  data->release_queue.Unref(env);
  data->release_queue_alive = true;

  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  exports.Set("init", Napi::Function::New(env, InitErrors, "init"));
  exports.Set("Pin", Pin::Define(env));
  exports.Set("Export", Export::Define(env));
  exports.Set("unmap", Napi::Function::New(env, UnmapJs, "unmap"));
  exports.Set("flush", Napi::Function::New(env, FlushJs, "flush"));
  exports.Set("mapFile", Napi::Function::New(env, MapFileJs, "mapFile"));
  exports.Set("openSharedMemory",
              Napi::Function::New(env, OpenSharedMemoryJs, "openSharedMemory"));
  exports.Set("unlinkSharedMemory",
              Napi::Function::New(env, UnlinkSharedMemoryJs, "unlinkSharedMemory"));
  exports.Set("liveMappings", Napi::Function::New(env, LiveMappingsJs, "liveMappings"));
  exports.Set("allocationGranularity",
              Napi::Function::New(env, AllocationGranularityJs, "allocationGranularity"));
  exports.Set("resizeMapping",
              Napi::Function::New(env, ResizeMappingJs, "resizeMapping"));
  exports.Set("advise", Napi::Function::New(env, AdviseJs, "advise"));
  exports.Set("resident", Napi::Function::New(env, ResidentJs, "resident"));
  exports.Set("prefetch", Napi::Function::New(env, PrefetchJs, "prefetch"));
  exports.Set("fileAdvise", Napi::Function::New(env, FileAdviseJs, "fileAdvise"));
  exports.Set("fileResident",
              Napi::Function::New(env, FileResidentJs, "fileResident"));
  exports.Set("filePrefetch",
              Napi::Function::New(env, FilePrefetchJs, "filePrefetch"));
  exports.Set("livePins", Napi::Function::New(env, LivePinsJs, "livePins"));
  exports.Set("liveExports",
              Napi::Function::New(env, LiveExportsJs, "liveExports"));
  exports.Set("wait", Napi::Function::New(env, WaitJs, "wait"));
  exports.Set("waitAsync", Napi::Function::New(env, WaitAsyncJs, "waitAsync"));
  exports.Set("waitCancel",
              Napi::Function::New(env, WaitCancelJs, "waitCancel"));
  exports.Set("notify", Napi::Function::New(env, NotifyJs, "notify"));
  exports.Set("pendingWaits",
              Napi::Function::New(env, PendingWaitsJs, "pendingWaits"));
  return exports;
}

}  // namespace memoryview

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return memoryview::Init(env, exports);
}

NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitAddon)
