#include "export.h"

#include <atomic>
#include <memory>
#include <utility>

#include "addon_data.h"
#include "errors.h"
#include "layout.h"

namespace memoryview {

namespace {

std::atomic<int64_t> live_exports{0};

constexpr napi_type_tag kExportTag = {0x6d656d6f72797669ULL,
                                      0x65772e6578700002ULL};

// Format strings are parsed by the TypeScript side; native code only makes
// sure they are short printable ASCII, safe to hand to C as a C string.
constexpr size_t kMaxFormatLength = 256;

[[noreturn]] void Invalid(Napi::Env env, ErrorKind kind,
                          const std::string& message) {
  ThrowError(env, kind, kCodeInvalidDescriptor,
             "invalid buffer descriptor: " + message);
}

std::vector<int64_t> ReadIntegerArray(Napi::Env env, Napi::Value value,
                                      const char* name, bool non_negative) {
  if (!value.IsArray()) {
    Invalid(env, ErrorKind::kTypeError,
            std::string(name) + " must be an array of integers");
  }
  Napi::Array array = value.As<Napi::Array>();
  uint32_t length = array.Length();
  if (length > kMaxNdim) {
    Invalid(env, ErrorKind::kRangeError,
            "number of dimensions must not exceed 64 (" + std::string(name) +
                " has " + std::to_string(length) + ")");
  }
  std::vector<int64_t> result;
  result.reserve(length);
  for (uint32_t i = 0; i < length; ++i) {
    std::string element = std::string(name) + "[" + std::to_string(i) + "]";
    int64_t item = ToSafeInteger(env, array.Get(i), element,
                                 kCodeInvalidDescriptor);
    if (non_negative && item < 0) {
      Invalid(env, ErrorKind::kRangeError, element + " must be >= 0");
    }
    result.push_back(item);
  }
  return result;
}

Napi::Array ToArray(Napi::Env env, const std::vector<int64_t>& values) {
  Napi::Array array = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    array.Set(static_cast<uint32_t>(i),
              Napi::Number::New(env, static_cast<double>(values[i])));
  }
  return array;
}

void DropDeferred(napi_env env, DeferredRelease* item) {
  if (env != nullptr) {
    if (item->release != nullptr) napi_delete_reference(env, item->release);
    item->memory.Release();
  } else {
    item->memory.Abandon();
  }
  item->release = nullptr;
  live_exports.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace

int64_t LiveExports() { return live_exports.load(std::memory_order_relaxed); }

void CallDeferredRelease(Napi::Env env, Napi::Function /*unused*/,
                         AddonData* /*data*/, DeferredRelease* item) {
  std::unique_ptr<DeferredRelease> owned(item);
  if (env == nullptr) {
    // The queue is being torn down with the environment.
    DropDeferred(nullptr, owned.get());
    return;
  }
  Napi::HandleScope scope(env);
  napi_value release_value = nullptr;
  if (owned->release != nullptr) {
    napi_get_reference_value(env, owned->release, &release_value);
  }
  Napi::Value release(env, release_value);
  DropDeferred(env, owned.get());
  if (release.IsEmpty() || !release.IsFunction()) return;
  try {
    release.As<Napi::Function>().Call(env.Undefined(), {});
  } catch (const Napi::Error& error) {
    try {
      Napi::Object process = env.Global().Get("process").As<Napi::Object>();
      Napi::Object options = Napi::Object::New(env);
      options.Set("code", "ERR_MEMORYVIEW_RELEASE_FAILED");
      options.Set("detail", error.Message());
      process.Get("emitWarning")
          .As<Napi::Function>()
          .Call(process, {Napi::String::New(
                              env,
                              "memoryview: the release() of a garbage "
                              "collected native export threw"),
                          options});
    } catch (const Napi::Error&) {
      // Nothing is left to report to; the export itself is released.
    }
  }
}

Napi::Function Export::Define(Napi::Env env) {
  Napi::Function constructor = DefineClass(env, "Export", {});
  Napi::Object prototype = constructor.Get("prototype").As<Napi::Object>();
  DefineGetter(prototype, "address", GetAddress);
  DefineGetter(prototype, "byteLength", GetByteLength);
  DefineGetter(prototype, "readonly", GetReadonly);
  DefineGetter(prototype, "format", GetFormat);
  DefineGetter(prototype, "itemsize", GetItemsize);
  DefineGetter(prototype, "ndim", GetNdim);
  DefineGetter(prototype, "released", GetReleased);
  DefineMethod(prototype, "describe", Describe);
  DefineMethod(prototype, "release", Release);
  return constructor;
}

Export::Export(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Export>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Invalid(env, ErrorKind::kTypeError, "the descriptor must be an object");
  }
  Napi::Object descriptor = info[0].As<Napi::Object>();

  Napi::Value buffer_value = descriptor.Get("buffer");
  BufferInfo buffer =
      ResolveBuffer(env, buffer_value, kCodeInvalidDescriptor);

  int64_t byte_offset = ToSafeInteger(env, descriptor.Get("byteOffset"),
                                      "byteOffset", kCodeInvalidDescriptor);

  Napi::Value format = descriptor.Get("format");
  if (!format.IsString()) {
    Invalid(env, ErrorKind::kTypeError, "format must be a string");
  }
  std::string format_string = format.As<Napi::String>().Utf8Value();
  if (format_string.empty() || format_string.size() > kMaxFormatLength) {
    Invalid(env, ErrorKind::kRangeError,
            "format must have 1 to 256 characters");
  }
  for (char c : format_string) {
    if (c < 0x20 || c > 0x7e) {
      Invalid(env, ErrorKind::kRangeError,
              "format must be printable ASCII");
    }
  }

  int64_t itemsize = ToSafeInteger(env, descriptor.Get("itemsize"),
                                   "itemsize", kCodeInvalidDescriptor);
  std::vector<int64_t> shape =
      ReadIntegerArray(env, descriptor.Get("shape"), "shape", true);
  std::vector<int64_t> strides =
      ReadIntegerArray(env, descriptor.Get("strides"), "strides", false);
  if (strides.size() != shape.size()) {
    Invalid(env, ErrorKind::kTypeError,
            "strides must have one entry per dimension (shape has " +
                std::to_string(shape.size()) + ", strides " +
                std::to_string(strides.size()) + ")");
  }

  Napi::Value readonly = descriptor.Get("readonly");
  if (!readonly.IsBoolean()) {
    Invalid(env, ErrorKind::kTypeError, "readonly must be a boolean");
  }

  Napi::Value release = descriptor.Get("release");
  if (!release.IsUndefined() && !release.IsFunction()) {
    Invalid(env, ErrorKind::kTypeError,
            "release must be a function or undefined");
  }

  Napi::Value byte_length = descriptor.Get("byteLength");

  // The getters above may have run user code that detached or replaced the
  // buffer; resolve it again now that no more user code runs.
  buffer = ResolveBuffer(env, buffer_value, kCodeInvalidDescriptor);

  Extent extent;
  std::string why =
      CheckLayout(buffer.byte_length, byte_offset, itemsize,
                  static_cast<int64_t>(shape.size()), shape.data(),
                  strides.data(), &extent);
  if (!why.empty()) Invalid(env, ErrorKind::kRangeError, why);

  if (!byte_length.IsUndefined()) {
    int64_t declared = ToSafeInteger(env, byte_length, "byteLength",
                                     kCodeInvalidDescriptor);
    if (declared != extent.nbytes) {
      Invalid(env, ErrorKind::kRangeError,
              "byteLength " + std::to_string(declared) +
                  " != itemsize * product(shape) = " +
                  std::to_string(extent.nbytes));
    }
  }

  // Everything is valid: take the references last, so that a throw above
  // leaves nothing to undo.
  if (release.IsFunction()) {
    napi_status status = napi_create_reference(env, release, 1, &release_);
    NAPI_THROW_IF_FAILED_VOID(env, status);
  }
  memory_ = PinnedMemory(env, buffer_value, buffer, extent.lowest,
                         extent.end - extent.lowest);
  byte_offset_ = byte_offset;
  extent_lowest_ = extent.lowest;
  nbytes_ = extent.nbytes;
  itemsize_ = itemsize;
  readonly_ = readonly.As<Napi::Boolean>().Value();
  format_ = std::move(format_string);
  shape_ = std::move(shape);
  strides_ = std::move(strides);
  live_exports.fetch_add(1, std::memory_order_relaxed);
  info.This().As<Napi::Object>().TypeTag(&kExportTag);
}

void Export::Finalize(Napi::Env env) {
  if (released_) return;
  released_ = true;
  auto item = std::make_unique<DeferredRelease>();
  item->memory = std::move(memory_);
  item->release = std::exchange(release_, nullptr);
  AddonData* data = GetAddonData(env);
  if (data != nullptr && data->release_queue_alive &&
      data->release_queue.NonBlockingCall(item.get()) == napi_ok) {
    item.release();  // Now owned by the queue.
    return;
  }
  DropDeferred(env, item.get());
}

Export* Export::Receiver(const Napi::CallbackInfo& info) {
  Napi::Value self = info.This();
  if (!self.IsObject() ||
      !self.As<Napi::Object>().CheckTypeTag(&kExportTag)) {
    ThrowIllegalInvocation(info.Env());
  }
  return Unwrap(self.As<Napi::Object>());
}

uint8_t* Export::origin() const {
  if (!memory_.held()) return nullptr;
  return memory_.data() + (byte_offset_ - extent_lowest_);
}

Napi::Value Export::GetAddress(const Napi::CallbackInfo& info) {
  Export* self = Receiver(info);
  return Napi::BigInt::New(
      info.Env(),
      static_cast<uint64_t>(reinterpret_cast<uintptr_t>(self->origin())));
}

Napi::Value Export::GetByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(),
                           static_cast<double>(Receiver(info)->nbytes_));
}

Napi::Value Export::GetReadonly(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Receiver(info)->readonly_);
}

Napi::Value Export::GetFormat(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), Receiver(info)->format_);
}

Napi::Value Export::GetItemsize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(),
                           static_cast<double>(Receiver(info)->itemsize_));
}

Napi::Value Export::GetNdim(const Napi::CallbackInfo& info) {
  return Napi::Number::New(
      info.Env(), static_cast<double>(Receiver(info)->shape_.size()));
}

Napi::Value Export::GetReleased(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Receiver(info)->released_);
}

Napi::Value Export::Describe(const Napi::CallbackInfo& info) {
  Export* self = Receiver(info);
  Napi::Env env = info.Env();
  if (self->released_) {
    ThrowError(env, ErrorKind::kError, kCodeReleased,
               "operation forbidden on released native export");
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("buffer", self->memory_.buffer());
  result.Set("byteOffset", static_cast<double>(self->byte_offset_));
  result.Set("byteLength", static_cast<double>(self->nbytes_));
  result.Set("readonly", self->readonly_);
  result.Set("format", self->format_);
  result.Set("itemsize", static_cast<double>(self->itemsize_));
  result.Set("shape", ToArray(env, self->shape_));
  result.Set("strides", ToArray(env, self->strides_));
  return result;
}

Napi::Value Export::Release(const Napi::CallbackInfo& info) {
  Export* self = Receiver(info);
  Napi::Env env = info.Env();
  if (self->released_) return env.Undefined();
  self->released_ = true;
  live_exports.fetch_sub(1, std::memory_order_relaxed);
  // Drop the pin when this scope ends, even if the JS release throws.
  PinnedMemory memory = std::move(self->memory_);
  napi_ref release_ref = std::exchange(self->release_, nullptr);
  if (release_ref == nullptr) return env.Undefined();
  napi_value release = nullptr;
  napi_get_reference_value(env, release_ref, &release);
  napi_delete_reference(env, release_ref);
  Napi::Function(env, release).Call(env.Undefined(), {});
  return env.Undefined();
}

}  // namespace memoryview
