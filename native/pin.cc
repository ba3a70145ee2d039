#include "pin.h"

#include <atomic>
#include <cmath>
#include <string>
#include <utility>

#include "addon_data.h"
#include "errors.h"
#include "layout.h"

namespace memoryview {

namespace {

std::atomic<int64_t> live_pins{0};

// A random 128-bit tag: only objects constructed by Pin carry it.
constexpr napi_type_tag kPinTag = {0x6d656d6f72797669ULL,
                                   0x65772e70696e0001ULL};

constexpr double kMaxSafeInteger = 9007199254740991.0;

// What a JS value is, for messages: typeof, with null told apart.
std::string JsTypeName(Napi::Value value) {
  switch (value.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_symbol: return "symbol";
    case napi_function: return "function";
    case napi_bigint: return "bigint";
    default: break;
  }
  if (value.IsTypedArray()) return "a TypedArray";
  if (value.IsDataView()) return "a DataView";
  return "an object";
}

bool CallBrandGetter(Napi::FunctionReference& getter, Napi::Value value,
                     Napi::Value* result) {
  if (getter.IsEmpty()) return false;
  try {
    *result = getter.Value().Call(value, {});
    return true;
  } catch (const Napi::Error&) {
    // The getter's brand check threw: `value` is not of that class.
    return false;
  }
}

}  // namespace

BufferInfo ResolveBuffer(Napi::Env env, Napi::Value value, const char* code) {
  AddonData* data = GetAddonData(env);
  BufferInfo info;
  if (value.IsArrayBuffer()) {
    Napi::Value resizable;
    if (CallBrandGetter(data->ab_resizable, value, &resizable) &&
        resizable.ToBoolean().Value()) {
      ThrowError(env, ErrorKind::kTypeError, code,
                 "a resizable ArrayBuffer cannot be pinned: shrinking it "
                 "would pull memory from under native code");
    }
    bool detached = false;
    napi_status status = napi_is_detached_arraybuffer(env, value, &detached);
    NAPI_THROW_IF_FAILED(env, status, info);
    if (detached) {
      ThrowError(env, ErrorKind::kError, kCodeOutOfBounds,
                 "the ArrayBuffer is detached");
    }
    Napi::ArrayBuffer buffer = value.As<Napi::ArrayBuffer>();
    info.data = static_cast<uint8_t*>(buffer.Data());
    info.byte_length = static_cast<int64_t>(buffer.ByteLength());
    return info;
  }
  Napi::Value length;
  if (value.IsObject() && !value.IsTypedArray() && !value.IsDataView() &&
      CallBrandGetter(data->sab_byte_length, value, &length)) {
    // Node-API 8 cannot read a SharedArrayBuffer directly; a Uint8Array over
    // it can, and its data pointer is the shared backing store's.
    Napi::Uint8Array bytes =
        data->uint8_array.Value().New({value}).As<Napi::Uint8Array>();
    info.data = bytes.Data();
    info.byte_length = static_cast<int64_t>(bytes.ByteLength());
    info.shared = true;
    return info;
  }
  // The hint only here: an integer argument that is a TypedArray needs no .buffer.
  std::string got = JsTypeName(value);
  if (value.IsTypedArray() || value.IsDataView()) got += " (pass its .buffer)";
  ThrowError(env, ErrorKind::kTypeError, code,
             "buffer must be an ArrayBuffer or a SharedArrayBuffer, got " + got);
}

PinnedMemory::PinnedMemory(Napi::Env env, Napi::Value buffer,
                           const BufferInfo& info, int64_t offset,
                           int64_t length)
    : env_(env), data_(info.data + offset), length_(length) {
  napi_status status = napi_create_reference(env, buffer, 1, &ref_);
  if (status != napi_ok) {
    ref_ = nullptr;
    NAPI_THROW_IF_FAILED_VOID(env, status);
  }
  live_pins.fetch_add(1, std::memory_order_relaxed);
}

PinnedMemory::PinnedMemory(PinnedMemory&& other) noexcept
    : env_(other.env_),
      ref_(std::exchange(other.ref_, nullptr)),
      data_(std::exchange(other.data_, nullptr)),
      length_(std::exchange(other.length_, 0)) {}

PinnedMemory& PinnedMemory::operator=(PinnedMemory&& other) noexcept {
  if (this != &other) {
    Release();
    env_ = other.env_;
    ref_ = std::exchange(other.ref_, nullptr);
    data_ = std::exchange(other.data_, nullptr);
    length_ = std::exchange(other.length_, 0);
  }
  return *this;
}

PinnedMemory::~PinnedMemory() { Release(); }

void PinnedMemory::Release() {
  if (ref_ == nullptr) return;
  napi_delete_reference(env_, ref_);
  Abandon();
}

void PinnedMemory::Abandon() {
  if (ref_ == nullptr) return;
  ref_ = nullptr;
  data_ = nullptr;
  length_ = 0;
  live_pins.fetch_sub(1, std::memory_order_relaxed);
}

Napi::Value PinnedMemory::buffer() const {
  napi_value value = nullptr;
  napi_get_reference_value(env_, ref_, &value);
  return Napi::Value(env_, value);
}

bool PinnedMemory::detached() const {
  bool result = false;
  napi_is_detached_arraybuffer(env_, buffer(), &result);
  return result;
}

int64_t LivePins() { return live_pins.load(std::memory_order_relaxed); }

int64_t ToSafeInteger(Napi::Env env, Napi::Value value,
                      const std::string& name, const char* code) {
  if (!value.IsNumber()) {
    ThrowError(env, ErrorKind::kTypeError, code,
               name + " must be an integer number, got " +
                   JsTypeName(value));
  }
  double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || std::trunc(number) != number ||
      std::fabs(number) > kMaxSafeInteger) {
    ThrowError(env, ErrorKind::kTypeError, code,
               name + " must be a safe integer, got " +
                   value.ToString().Utf8Value());
  }
  return static_cast<int64_t>(number);
}

int64_t ToNonNegativeInteger(const Napi::CallbackInfo& info, size_t index,
                             const char* name, const char* code) {
  int64_t value = ToSafeInteger(info.Env(), info[index], name, code);
  if (value < 0) {
    ThrowError(info.Env(), ErrorKind::kRangeError, kCodeOutOfRange,
               std::string(name) + " must be >= 0, got " +
                   std::to_string(value));
  }
  return value;
}

void DefineMethod(Napi::Object prototype, const char* name,
                  Callback callback) {
  prototype.DefineProperty(Napi::PropertyDescriptor::Function(
      prototype.Env(), prototype, name, callback,
      static_cast<napi_property_attributes>(napi_writable |
                                            napi_configurable)));
}

void DefineGetter(Napi::Object prototype, const char* name,
                  Callback callback) {
  prototype.DefineProperty(Napi::PropertyDescriptor::Accessor(
      prototype.Env(), prototype, name, callback, napi_configurable));
}

Napi::Function Pin::Define(Napi::Env env) {
  Napi::Function constructor = DefineClass(env, "Pin", {});
  Napi::Object prototype = constructor.Get("prototype").As<Napi::Object>();
  DefineGetter(prototype, "address", GetAddress);
  DefineGetter(prototype, "byteLength", GetByteLength);
  DefineGetter(prototype, "buffer", GetBuffer);
  DefineGetter(prototype, "released", GetReleased);
  DefineMethod(prototype, "release", Release);
  return constructor;
}

Pin::Pin(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Pin>(info) {
  Napi::Env env = info.Env();
  BufferInfo buffer = ResolveBuffer(env, info[0], kCodeInvalidArg);
  int64_t offset =
      ToNonNegativeInteger(info, 1, "byteOffset", kCodeInvalidArg);
  int64_t length =
      ToNonNegativeInteger(info, 2, "byteLength", kCodeInvalidArg);
  if (offset > buffer.byte_length || length > buffer.byte_length - offset) {
    ThrowError(env, ErrorKind::kRangeError, kCodeOutOfRange,
               "byteOffset + byteLength (" + std::to_string(offset) + " + " +
                   std::to_string(length) + ") exceeds the buffer's " +
                   std::to_string(buffer.byte_length) + " bytes");
  }
  memory_ = PinnedMemory(env, info[0], buffer, offset, length);
  byte_length_ = length;
  info.This().As<Napi::Object>().TypeTag(&kPinTag);
}

Pin* Pin::Receiver(const Napi::CallbackInfo& info) {
  Napi::Value self = info.This();
  if (!self.IsObject() ||
      !self.As<Napi::Object>().CheckTypeTag(&kPinTag)) {
    ThrowIllegalInvocation(info.Env());
  }
  return Unwrap(self.As<Napi::Object>());
}

Napi::Value Pin::GetAddress(const Napi::CallbackInfo& info) {
  Pin* pin = Receiver(info);
  return Napi::BigInt::New(
      info.Env(), static_cast<uint64_t>(
                      reinterpret_cast<uintptr_t>(pin->memory_.data())));
}

Napi::Value Pin::GetByteLength(const Napi::CallbackInfo& info) {
  Pin* pin = Receiver(info);
  return Napi::Number::New(info.Env(),
                           static_cast<double>(pin->byte_length_));
}

Napi::Value Pin::GetBuffer(const Napi::CallbackInfo& info) {
  Pin* pin = Receiver(info);
  if (!pin->memory_.held()) return info.Env().Undefined();
  return pin->memory_.buffer();
}

Napi::Value Pin::GetReleased(const Napi::CallbackInfo& info) {
  Pin* pin = Receiver(info);
  return Napi::Boolean::New(info.Env(), !pin->memory_.held());
}

Napi::Value Pin::Release(const Napi::CallbackInfo& info) {
  Pin* pin = Receiver(info);
  pin->memory_.Release();
  return info.Env().Undefined();
}

}  // namespace memoryview
