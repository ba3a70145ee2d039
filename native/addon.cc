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
constexpr int kAbiVersion = 10;

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

  InitMappings(env);

  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  exports.Set("init", Napi::Function::New(env, InitErrors, "init"));
  exports.Set("Pin", Pin::Define(env));
  exports.Set("Export", Export::Define(env));
  // The plain functions, each under its own name (one table: a name is written once).
  struct Entry {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  };
  static const Entry kFunctions[] = {
      {"unmap", UnmapJs},
      {"flush", FlushJs},
      {"mapFile", MapFileJs},
      {"mapFileId", MapFileIdJs},
      {"openSharedMemoryId", OpenSharedMemoryIdJs},
      {"mappingBuffer", MappingBufferJs},
      {"unlinkSharedMemory", UnlinkSharedMemoryJs},
      {"liveMappings", LiveMappingsJs},
      {"allocationGranularity", AllocationGranularityJs},
      {"resizeMapping", ResizeMappingJs},
      {"advise", AdviseJs},
      {"resident", ResidentJs},
      {"prefetch", PrefetchJs},
      {"fileAdvise", FileAdviseJs},
      {"fileResident", FileResidentJs},
      {"filePrefetch", FilePrefetchJs},
      {"livePins", LivePinsJs},
      {"liveExports", LiveExportsJs},
      {"wait", WaitJs},
      {"waitAsync", WaitAsyncJs},
      {"waitCancel", WaitCancelJs},
      {"notify", NotifyJs},
      {"pendingWaits", PendingWaitsJs},
  };
  for (const Entry& entry : kFunctions) {
    exports.Set(entry.name, Napi::Function::New(env, entry.fn, entry.name));
  }
  // The calls made on every mmap() and close() are plain Node-API callbacks
  // (mapping.cc PlainCallback: no node-addon-api wrapper, no CallbackInfo).
  struct PlainEntry {
    const char* name;
    napi_callback fn;
  };
  static const PlainEntry kPlainFunctions[] = {
      {"mapFileIo", MapFileIoJs},
      {"unmapId", UnmapIdJs},
  };
  for (const PlainEntry& entry : kPlainFunctions) {
    napi_value fn = nullptr;
    NAPI_THROW_IF_FAILED(env,
                         napi_create_function(env, entry.name, NAPI_AUTO_LENGTH,
                                              entry.fn, nullptr, &fn),
                         exports);
    exports.Set(entry.name, fn);
  }
  return exports;
}

}  // namespace memoryview

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return memoryview::Init(env, exports);
}

NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitAddon)
