#include <napi.h>

namespace memoryview {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

}  // namespace memoryview

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return memoryview::Init(env, exports);
}

NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitAddon)
