// A unit test of native/platform.h, without Node or Node-API: built with
// each platform layer (platform_posix.cc + platform_linux.cc natively on
// Linux by windows.sh and statically for musl by macos.sh, platform_win32.cc
// with mingw-w64 and run under Wine by windows.sh; compiled only for macOS).
//
// Usage: platform-unit            run every check, print PASS/FAIL/SKIP
//        platform-unit --errno    print "<errno> <name>" for every entry of
//                                 native/errno_compat.h's table (windows.sh
//                                 compares them with libuv's names on Linux)
//        platform-unit --wait-child NAME, --unmap-race-child NAME
//                                 the child processes of two checks
// Exit status: 0 when nothing failed.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "../../native/errno_compat.h"
#include "../../native/platform.h"

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <process.h>
#include <windows.h>
// The addon gets uv_get_osfhandle from node.exe; here the descriptors are
// this program's own CRT's, so _get_osfhandle is the same lookup.
extern "C" HANDLE uv_get_osfhandle(int fd) {
  return reinterpret_cast<HANDLE>(_get_osfhandle(fd));
}
static int OpenFd(const std::string& path, bool write) {
  return _open(path.c_str(), (write ? _O_RDWR : _O_RDONLY) | _O_BINARY);
}
static void CloseFd(int fd) { _close(fd); }
static int Pid() { return _getpid(); }
static const char kOs[] = "windows";
// Runs this program again with `mode` and `arg`; returns its exit status.
static int RunChild(const char* mode, const std::string& arg) {
  char self[MAX_PATH];
  GetModuleFileNameA(nullptr, self, MAX_PATH);
  intptr_t child = _spawnl(_P_NOWAIT, self, "platform-unit", mode, arg.c_str(),
                           static_cast<char*>(nullptr));
  if (child == -1) return 127;
  int status = -1;
  _cwait(&status, child, 0);
  return status;
}
#else
#include <fcntl.h>
#include <unistd.h>
static int OpenFd(const std::string& path, bool write) {
  return open(path.c_str(), write ? O_RDWR : O_RDONLY);
}
static void CloseFd(int fd) { close(fd); }
static int Pid() { return getpid(); }
static const char kOs[] = "posix";
#include <sys/wait.h>
static const char* self_path = nullptr;  // argv[0]
// Runs this program again with `mode` and `arg`; returns its exit status
// (127: it could not be started).
static int RunChild(const char* mode, const std::string& arg) {
  pid_t child = fork();
  if (child == 0) {
    // argv[0], not /proc/self/exe: macOS has no /proc, and under qemu-user
    // /proc/self/exe is qemu.
    execl(self_path, "platform-unit", mode, arg.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  if (child < 0) return -1;
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
#endif

namespace fs = std::filesystem;
using namespace memoryview;

namespace {

int passed = 0, failed = 0, skipped = 0;

void Check(bool ok, const std::string& name, const std::string& detail = "") {
  if (ok) {
    passed++;
    std::printf("PASS %s\n", name.c_str());
  } else {
    failed++;
    std::printf("FAIL %s%s%s\n", name.c_str(), detail.empty() ? "" : ": ",
                detail.c_str());
  }
  std::fflush(stdout);
}

[[maybe_unused]] void Skip(const std::string& name, const std::string& why) {
  skipped++;
  std::printf("SKIP %s: %s\n", name.c_str(), why.c_str());
}

std::string Rc(int rc) {
  const char* name = rc < 0 ? ErrnoName(-rc) : nullptr;
  return "rc=" + std::to_string(rc) + (name ? std::string(" (") + name + ")" : "");
}

const int64_t kMax = int64_t{1} << 40;

uint8_t Pattern(int64_t i) { return static_cast<uint8_t>(i % 251); }

void WriteFile(const fs::path& path, int64_t size) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  for (int64_t i = 0; i < size; i++) f.put(static_cast<char>(Pattern(i)));
}

std::vector<uint8_t> ReadFile(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

bool Matches(const void* addr, int64_t from, int64_t length) {
  auto* p = static_cast<const uint8_t*>(addr);
  for (int64_t i = 0; i < length; i++) {
    if (p[i] != Pattern(from + i)) return false;
  }
  return true;
}

std::string U8(const fs::path& p) {
  auto s = p.u8string();
  return std::string(s.begin(), s.end());
}

void TestFiles(const fs::path& dir) {
  const int64_t g = AllocationGranularity();
#ifdef _WIN32
  Check(g == 65536, "AllocationGranularity() is 64 KiB", std::to_string(g));
#else
  Check(g > 0 && (g & (g - 1)) == 0, "AllocationGranularity() is the page size",
        std::to_string(g));
#endif
  const int64_t size = 2 * g + 100;
  fs::path file = dir / "data.bin";
  WriteFile(file, size);
  std::string path = U8(file);

  {
    MapResult r;
    int rc = MapFile(path.c_str(), -1, Access::kRead, 0, 0, -1, kMax, &r);
    Check(rc == 0 && r.refusal == MapRefusal::kNone && r.addr != nullptr,
          "map a whole file read-only", Rc(rc));
    if (rc == 0 && r.addr) {
      Check(static_cast<int64_t>(r.length) == size && r.file_size == size,
            "read mapping has the file's length", std::to_string(r.length));
      Check(Matches(r.addr, 0, size), "read mapping shows the file's bytes");
      Check(r.ino != 0, "the file identity (ino / file index) is reported");
      // kRead is copy-on-write: a stray write stays private.
      static_cast<uint8_t*>(r.addr)[5] = 0xEE;
      Check(Unmap(r.addr, r.length) == 0, "unmap the read mapping");
      Check(ReadFile(file)[5] == Pattern(5),
            "a write into a read mapping never reaches the file");
    }
  }
  {
    MapResult r;
    int rc = MapFile(path.c_str(), -1, Access::kCopy, 0, 0, -1, kMax, &r);
    Check(rc == 0 && r.addr != nullptr, "map a file copy-on-write", Rc(rc));
    if (rc == 0 && r.addr) {
      static_cast<uint8_t*>(r.addr)[7] = 0xAB;
      Check(static_cast<uint8_t*>(r.addr)[7] == 0xAB,
            "a copy mapping is writable");
      Check(Flush(r.addr, r.length, 0, 16) == 0, "flush of a copy mapping");
      Unmap(r.addr, r.length);
      Check(ReadFile(file)[7] == Pattern(7),
            "a copy mapping's write never reaches the file");
    }
  }
  {
    MapResult w;
    int rc = MapFile(path.c_str(), -1, Access::kWrite, 0, 0, -1, kMax, &w);
    Check(rc == 0 && w.addr != nullptr, "map a file read-write", Rc(rc));
    if (rc == 0 && w.addr) {
      auto* p = static_cast<uint8_t*>(w.addr);
      p[1] = 0x11;
      p[g + 3] = 0x22;
      rc = Flush(w.addr, w.length, 0, size);
      Check(rc == 0, "flush a write mapping", Rc(rc));
      MapResult second;
      rc = MapFile(path.c_str(), -1, Access::kRead, g, 0, -1, kMax, &second);
      Check(rc == 0 && second.addr != nullptr &&
                static_cast<int64_t>(second.length) == size - g,
            "a second mapping at offset = granularity", Rc(rc));
      if (rc == 0 && second.addr) {
        Check(static_cast<uint8_t*>(second.addr)[3] == 0x22,
              "the second mapping sees the first one's write");
        Unmap(second.addr, second.length);
      }
      std::vector<uint8_t> bytes = ReadFile(file);
      Check(bytes.size() == static_cast<size_t>(size) && bytes[1] == 0x11 &&
                bytes[g + 3] == 0x22,
            "written and flushed bytes are in the file");
      Check(Unmap(w.addr, w.length) == 0, "unmap the write mapping");
    }
    WriteFile(file, size);
  }
  {
    MapResult r;
    int rc = MapFile(path.c_str(), -1, Access::kRead, g, 100, -1, kMax, &r);
    Check(rc == 0 && r.length == 100 && r.offset == g && r.addr &&
              Matches(r.addr, g, 100),
          "an offset and a length map that range", Rc(rc));
    if (rc == 0 && r.addr) Unmap(r.addr, r.length);
  }
  struct Refusal {
    const char* name;
    int64_t offset, length, max;
    MapRefusal expected;
  };
  const Refusal refusals[] = {
      {"offset at the end of the file is refused", 3 * g, 0, kMax,
       MapRefusal::kOffsetPastEnd},
      {"length past the end of the file is refused", g, 2 * g, kMax,
       MapRefusal::kLengthPastEnd},
      {"a mapping longer than max_length is refused", 0, 0, 1000,
       MapRefusal::kTooLarge},
  };
  for (const Refusal& c : refusals) {
    MapResult r;
    int rc = MapFile(path.c_str(), -1, Access::kRead, c.offset, c.length, -1,
                     c.max, &r);
    Check(rc == 0 && r.refusal == c.expected && r.addr == nullptr, c.name,
          Rc(rc) + " refusal=" + std::to_string(static_cast<int>(r.refusal)));
    if (c.expected == MapRefusal::kTooLarge) {
      Check(r.refused_length == size, "kTooLarge reports the refused length",
            std::to_string(r.refused_length));
    }
  }
  {
    fs::path empty = dir / "empty.bin";
    WriteFile(empty, 0);
    MapResult r;
    int rc = MapFile(U8(empty).c_str(), -1, Access::kRead, 0, 0, -1, kMax, &r);
    Check(rc == 0 && r.refusal == MapRefusal::kEmptyFile,
          "an empty file is refused", Rc(rc));
    fs::remove(empty);
  }
  {
    MapResult r;
    int rc = MapFile(U8(dir / "missing.bin").c_str(), -1, Access::kRead, 0, 0,
                     -1, kMax, &r);
    Check(rc == -ENOENT && std::strcmp(r.syscall, "open") == 0,
          "a missing file fails with -ENOENT from open", Rc(rc));
    rc = MapFile(U8(dir).c_str(), -1, Access::kRead, 0, 0, -1, kMax, &r);
    Check(rc == -EISDIR, "a directory fails with -EISDIR", Rc(rc));
  }
  {
    fs::path fresh = dir / "created.bin";
    MapResult r;
    int rc = MapFile(U8(fresh).c_str(), -1, Access::kWrite, 0, 0, 5000, kMax,
                     &r);
    Check(rc == 0 && r.length == 5000 && fs::exists(fresh) &&
              fs::file_size(fresh) == 5000,
          "size >= 0 creates and grows a missing file", Rc(rc));
    if (rc == 0 && r.addr) {
      Check(static_cast<uint8_t*>(r.addr)[4999] == 0,
            "a grown file reads as zeros");
      Unmap(r.addr, r.length);
    }
    fs::remove(fresh);
    rc = MapFile(U8(fresh).c_str(), -1, Access::kWrite, 2 * g, 0, 5000, kMax,
                 &r);
    Check(rc == 0 && r.refusal == MapRefusal::kOffsetPastEnd &&
              !fs::exists(fresh),
          "a refused create leaves no file behind", Rc(rc));
    rc = MapFile(path.c_str(), -1, Access::kWrite, 0, 0, 10 * g, 1000, &r);
    Check(rc == 0 && r.refusal == MapRefusal::kTooLarge &&
              static_cast<int64_t>(fs::file_size(file)) == size,
          "a refused mapping does not grow the file", Rc(rc));
  }
  {
    int fd = OpenFd(path, false);
    MapResult r;
    int rc = MapFile(nullptr, fd, Access::kRead, 0, 0, -1, kMax, &r);
    Check(rc == 0 && static_cast<int64_t>(r.length) == size &&
              Matches(r.addr, 0, size),
          "map through a file descriptor", Rc(rc));
    if (rc == 0 && r.addr) Unmap(r.addr, r.length);

    void* addr = nullptr;
    size_t mapped = 0;
    int64_t delta = 0;
    rc = MapFileRange(fd, g + 10, 50, &addr, &mapped, &delta);
    Check(rc == 0 && delta == 10 && mapped == 60 &&
              Matches(static_cast<uint8_t*>(addr) + delta, g + 10, 50),
          "MapFileRange maps the granularity-aligned pages of a range",
          Rc(rc));
    if (rc == 0) {
      int64_t resident = -1;
      Prefetch(addr, delta, 50);
      rc = Resident(addr, delta, 50, &resident);
      Check(rc == 0 && resident >= 0 && resident <= 50,
            "Resident of a file range", Rc(rc) + " resident=" +
                                            std::to_string(resident));
      Unmap(addr, mapped);
    }
    Check(FileAdvise(fd, 0, size, Advice::kSequential) == 0,
          "FileAdvise succeeds");
    MapResult refused;
    rc = MapFile(nullptr, fd, Access::kWrite, 0, 0, -1, kMax, &refused);
    Check(rc == -EACCES && refused.addr == nullptr,
          "a write mapping of a read-only descriptor fails with -EACCES",
          Rc(rc));
    CloseFd(fd);
  }
  {
    int fd = OpenFd(path, true);
    MapResult r;
    int rc = MapFile(nullptr, fd, Access::kWrite, g, 0, -1, kMax, &r);
    // The descriptor is the caller's: closed before the mapping is used.
    CloseFd(fd);
    Check(rc == 0, "a write mapping through a descriptor", Rc(rc));
    if (rc == 0) {
      static_cast<uint8_t*>(r.addr)[2] = 0x77;
      rc = Flush(r.addr, r.length, 0, 10);
      Check(rc == 0 && ReadFile(file)[g + 2] == 0x77,
            "flush through a descriptor's mapping after the fd is closed",
            Rc(rc));
      Unmap(r.addr, r.length);
    }
    WriteFile(file, size);
  }
  {
    MapResult r;
    int rc = MapFile(U8(dir / "no-such-dir" / "x.bin").c_str(), -1,
                     Access::kWrite, 0, 0, 100, kMax, &r);
    Check(rc == -ENOENT, "creating a file in a missing directory: -ENOENT",
          Rc(rc));
    // UTF-8 names reach the OS intact (UTF-16 on Windows).
    fs::path named = dir / fs::u8path("donn\xc3\xa9" "es-\xe2\x82\xac.bin");
    WriteFile(named, 300);
    rc = MapFile(U8(named).c_str(), -1, Access::kRead, 0, 0, -1, kMax, &r);
    Check(rc == 0 && r.length == 300 && Matches(r.addr, 0, 300),
          "map a file whose name is not ASCII", Rc(rc));
    if (rc == 0) Unmap(r.addr, r.length);
    fs::remove(named);
  }
}

void TestPaging(const fs::path& dir) {
  const int64_t g = AllocationGranularity();
  fs::path file = dir / "paging.bin";
  WriteFile(file, 4 * g);
  MapResult r;
  int rc = MapFile(U8(file).c_str(), -1, Access::kWrite, 0, 0, -1, kMax, &r);
  Check(rc == 0, "map a file for paging calls", Rc(rc));
  if (rc != 0) return;
  const char* names[] = {"normal", "random", "sequential", "willneed",
                         "dontneed"};
  for (int a = 0; a <= static_cast<int>(Advice::kDontNeed); a++) {
    rc = Advise(r.addr, 0, 4 * g, static_cast<Advice>(a));
    Check(rc == 0, std::string("Advise ") + names[a] + " succeeds", Rc(rc));
  }
  rc = Prefetch(r.addr, g, 2 * g);
  Check(rc == 0, "Prefetch succeeds", Rc(rc));
  int64_t resident = -1;
  rc = Resident(r.addr, g, 2 * g, &resident);
  Check(rc == 0 && resident == 2 * g,
        "Resident counts a prefetched range as resident",
        Rc(rc) + " resident=" + std::to_string(resident));
  rc = Resident(r.addr, g + 1, 10, &resident);
  Check(rc == 0 && resident == 10,
        "Resident counts only the asked part of a page",
        Rc(rc) + " resident=" + std::to_string(resident));
  Unmap(r.addr, r.length);
  fs::remove(file);
}

void TestResize(const fs::path& dir) {
  fs::path file = dir / "resize.bin";
  WriteFile(file, 5000);
  std::string path = U8(file);
  MapResult r;
  int rc = MapFile(path.c_str(), -1, Access::kWrite, 0, 0, -1, kMax, &r);
  Check(rc == 0, "map a file to resize", Rc(rc));
  if (rc != 0) return;
  MapResult grown;
  rc = RemapFile(path.c_str(), -1, r.dev, r.ino, 0, 20000, &grown);
  Check(rc == 0 && grown.length == 20000 &&
            fs::file_size(file) == 20000 && Matches(grown.addr, 0, 5000),
        "RemapFile grows the file and keeps its bytes", Rc(rc));
  Unmap(r.addr, r.length);
  if (rc != 0) return;
  static_cast<uint8_t*>(grown.addr)[19999] = 0x5A;
  MapResult shrunk;
  int fd = OpenFd(path, true);
  rc = RemapFile(nullptr, fd, grown.dev, grown.ino, 0, 3000, &shrunk);
  CloseFd(fd);
  Check(rc == 0 && shrunk.length == 3000 && Matches(shrunk.addr, 0, 3000),
        "RemapFile through an fd shrinks the mapping", Rc(rc));
  Unmap(grown.addr, grown.length);
  if (rc == 0) Unmap(shrunk.addr, shrunk.length);
  // Windows shortens the file when the last view is unmapped (no file with
  // a mapped view can be shortened there); POSIX at once.
  Check(fs::file_size(file) == 3000, "the file has the new size after unmap",
        std::to_string(fs::file_size(file)));
  {
    // Shrink, then grow back within the old length before unmapping: the
    // file ends at the last size asked for, never below a live mapping.
    WriteFile(file, 20000);
    MapResult a, b, c;
    int rc1 = MapFile(path.c_str(), -1, Access::kWrite, 0, 0, -1, kMax, &a);
    int rc2 = rc1 ? rc1 : RemapFile(path.c_str(), -1, a.dev, a.ino, 0, 3000, &b);
    if (rc1 == 0) Unmap(a.addr, a.length);
    int rc3 = rc2 ? rc2 : RemapFile(path.c_str(), -1, b.dev, b.ino, 0, 8000, &c);
    if (rc2 == 0) Unmap(b.addr, b.length);
    bool intact = rc3 == 0 && fs::file_size(file) >= 8000 &&
                  Matches(c.addr, 0, 3000);
    for (int i = 3000; rc3 == 0 && i < 8000; i++) {
      // Past the shrunk length: zeros, as after a truncation.
      if (static_cast<uint8_t*>(c.addr)[i] != 0) intact = false;
    }
    if (rc3 == 0) Unmap(c.addr, c.length);
    Check(intact && fs::file_size(file) == 8000,
          "shrink then grow: the last size wins, the grown part is zeros",
          Rc(rc3) + " size " + std::to_string(fs::file_size(file)));
    WriteFile(file, 3000);
  }

  MapResult again;
  rc = MapFile(path.c_str(), -1, Access::kWrite, 0, 0, -1, kMax, &again);
  if (rc == 0) Unmap(again.addr, again.length);
  // Replaced by rename (both files exist at once, so the identity differs).
  fs::path other = dir / "resize.new";
  WriteFile(other, 3000);
  fs::rename(other, file);
  MapResult stale;
  rc = RemapFile(path.c_str(), -1, again.dev, again.ino, 0, 8000, &stale);
  Check(rc == -ESTALE && fs::file_size(file) == 3000,
        "RemapFile of a replaced file fails with -ESTALE and changes nothing",
        Rc(rc));
  fs::remove(file);
}

void TestSharedMemory() {
#ifdef _WIN32
  // As Python on Windows: the name as given, no leading slash.
  std::string name = "mvunit_" + std::to_string(Pid());
#else
  std::string name = "/mvunit_" + std::to_string(Pid());
#endif
  MapResult created;
  int rc = MapSharedMemory(name.c_str(), true, 10000, true, kMax, &created);
  Check(rc == 0 && created.length == 10000, "create shared memory", Rc(rc));
  if (rc != 0) return;
  std::memset(created.addr, 0, created.length);
  static_cast<uint8_t*>(created.addr)[9999] = 0x42;
  MapResult opened;
  rc = MapSharedMemory(name.c_str(), false, 0, true, kMax, &opened);
  // Windows reports a section's size rounded up to whole pages, as Python's
  // SharedMemory(name).size does there.
  Check(rc == 0 && opened.length >= 10000 && opened.length < 10000 + 65536 &&
            static_cast<uint8_t*>(opened.addr)[9999] == 0x42,
        "open shared memory by name sees the creator's bytes",
        Rc(rc) + " length=" + std::to_string(opened.length));
  if (rc == 0) {
    static_cast<uint8_t*>(opened.addr)[0] = 0x24;
    Check(static_cast<uint8_t*>(created.addr)[0] == 0x24,
          "a write through one mapping shows in the other");
  }
  MapResult twice;
  rc = MapSharedMemory(name.c_str(), true, 10000, true, kMax, &twice);
  Check(rc == -EEXIST && twice.addr == nullptr,
        "creating an existing name fails with -EEXIST", Rc(rc));
  Check(static_cast<uint8_t*>(created.addr)[9999] == 0x42,
        "a refused create leaves the existing segment alone");
  MapResult big;
  rc = MapSharedMemory(name.c_str(), false, 0, true, 100, &big);
  Check(rc == 0 && big.refusal == MapRefusal::kTooLarge && big.addr == nullptr,
        "opening a segment longer than max_length is refused", Rc(rc));
  rc = MapSharedMemory((name + "_x").c_str(), true, 200, true, 100, &big);
  Check(rc == 0 && big.refusal == MapRefusal::kTooLarge,
        "creating a segment longer than max_length is refused", Rc(rc));
  MapResult missing;
  rc = MapSharedMemory((name + "_missing").c_str(), false, 0, true, kMax,
                       &missing);
  Check(rc == -ENOENT && std::strcmp(missing.syscall, "shm_open") == 0,
        "opening a missing name fails with -ENOENT", Rc(rc));
  rc = MapSharedMemory((name + "_x").c_str(), false, 0, true, kMax, &missing);
  Check(rc == -ENOENT, "a refused create leaves no segment behind", Rc(rc));
  rc = UnlinkSharedMemory(name.c_str());
  Check(rc == 0, "unlink succeeds", Rc(rc));
#ifdef _WIN32
  // No unlink on Windows: the name lives while a handle is open.
  rc = MapSharedMemory(name.c_str(), false, 0, true, kMax, &missing);
  Check(rc == 0, "after unlink, a still-mapped segment opens (Windows)",
        Rc(rc));
  if (rc == 0) Unmap(missing.addr, missing.length);
#else
  rc = MapSharedMemory(name.c_str(), false, 0, true, kMax, &missing);
  Check(rc == -ENOENT, "after unlink the name is gone (POSIX)", Rc(rc));
  rc = UnlinkSharedMemory(name.c_str());
  Check(rc == -ENOENT, "unlink of a missing name fails with -ENOENT (POSIX)",
        Rc(rc));
#endif
  if (opened.addr) Unmap(opened.addr, opened.length);
  Check(Unmap(created.addr, created.length) == 0, "close shared memory");
  rc = MapSharedMemory(name.c_str(), false, 0, true, kMax, &missing);
  Check(rc == -ENOENT,
        "once every mapping is closed the segment is gone", Rc(rc));
}

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void TestWait() {
  alignas(8) static uint32_t words[4] = {0, 1, 0, 0};
  WaitResult result;
  int rc = WaitOnAddress(&words[1], 0, -1, nullptr, &result);
  Check(rc == 0 && result == WaitResult::kNotEqual,
        "wait on a word that differs: not-equal", Rc(rc));
  auto t0 = std::chrono::steady_clock::now();
  rc = WaitOnAddress(&words[0], 0, 30 * 1000000LL, nullptr, &result);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0)
                .count();
  Check(rc == 0 && result == WaitResult::kTimedOut && ms >= 29,
        "wait with a 30 ms timeout times out", Rc(rc) + " after " +
                                                   std::to_string(ms) + " ms");
  rc = WaitOnAddress(reinterpret_cast<const uint32_t*>(
                         reinterpret_cast<const char*>(&words[0]) + 1),
                     0, 10 * 1000000LL, nullptr, &result);
  Check(rc == -EINVAL, "wait on a misaligned word fails with -EINVAL", Rc(rc));

  {
    // Woken by another thread: the word never changes, so only a wake can
    // end the wait with kOk; wake until it has.
    std::atomic<bool> done{false};
    WaitResult got = WaitResult::kTimedOut;
    int got_rc = -1;
    std::thread waiter([&] {
      got_rc = WaitOnAddress(&words[2], 0, 20 * 1000000000LL, nullptr, &got);
      done = true;
    });
    while (!done) {
      WakeAddress(&words[2], 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    waiter.join();
    Check(got_rc == 0 && got == WaitResult::kOk,
          "a wait is woken by WakeAddress from another thread", Rc(got_rc));
  }
  {
    // Cancelled at once: the thread has usually not reached the wait yet, so
    // this is mostly the cancel word seen before sleeping (the next case
    // cancels a waiter that sleeps; the two differ only in that pause).
    uint32_t cancel = 0;
    WaitResult got = WaitResult::kOk;
    int got_rc = -1;
    std::thread waiter([&] {
      got_rc = WaitOnAddress(&words[3], 0, 20 * 1000000000LL, &cancel, &got);
    });
    WakeCancel(&cancel);
    waiter.join();
    Check(got_rc == 0 && got == WaitResult::kCancelled,
          "WakeCancel ends a wait with kCancelled", Rc(got_rc));
  }
  {
    // Cancelling a waiter that is asleep (given 50 ms to get there).
    uint32_t cancel = 0;
    WaitResult got = WaitResult::kOk;
    int got_rc = -1;
    std::thread waiter([&] {
      got_rc = WaitOnAddress(&words[3], 0, 20 * 1000000000LL, &cancel, &got);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    int64_t start = SteadyNs();
    WakeCancel(&cancel);
    waiter.join();
    Check(got_rc == 0 && got == WaitResult::kCancelled,
          "WakeCancel ends a sleeping wait with kCancelled", Rc(got_rc));
    std::printf("     (cancel latency: %.2f ms)\n", (SteadyNs() - start) / 1e6);
  }
  {
    // notify(count) wakes that many waiters of this process and says how
    // many: one at a time here, until all three have been woken.
    alignas(4) static uint32_t word = 0;
    Check(WakeAddress(&word, 5) == 0, "WakeAddress with no waiter wakes 0");
    std::atomic<int> finished{0};
    std::atomic<int> ok{0};
    std::vector<std::thread> waiters;
    for (int i = 0; i < 3; i++) {
      waiters.emplace_back([&] {
        WaitResult got;
        if (WaitOnAddress(&word, 0, 20 * 1000000000LL, nullptr, &got) == 0 &&
            got == WaitResult::kOk) {
          ok++;
        }
        finished++;
      });
    }
    int woken = 0;
    bool one_at_a_time = true;
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (woken < 3 && std::chrono::steady_clock::now() < give_up) {
      int n = WakeAddress(&word, 1);
      if (n > 1) one_at_a_time = false;
      if (n == 1) {
        woken++;
        while (finished < woken && std::chrono::steady_clock::now() < give_up) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        // Nobody else may have woken meanwhile.
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        if (finished != woken) one_at_a_time = false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    Check(woken == 3, "WakeAddress reports each waiter it wakes",
          "counted " + std::to_string(woken));
    Check(one_at_a_time, "WakeAddress(count 1) wakes exactly one waiter");
    for (auto& t : waiters) t.join();
    Check(ok == 3, "every woken waiter returns ok", std::to_string(ok));
  }
  {
    // A cancellable wait (waitAsync) whose word changes while it sleeps, and
    // which is woken only after that: "ok", never "not-equal". Where such a
    // wait sleeps in 10 ms slices (macOS, Windows, Linux before 5.16 or under
    // an emulator without futex_waitv), the change is seen when the next
    // slice starts; the Linux layer once took that for "not-equal".
    // Nothing shows that the waiter is asleep in the kernel: it gets 50 ms.
    // A waiter that was not yet there sees the new word and rightly returns
    // "not-equal"; such a round proves nothing and is run again (at most 5
    // rounds), while the defect returned "not-equal" every round.
    alignas(4) static uint32_t word = 0;
    WaitResult got = WaitResult::kTimedOut;
    int got_rc = -1;
    for (int round = 0; round < 5; round++) {
      reinterpret_cast<std::atomic<uint32_t>*>(&word)->store(0);
      uint32_t cancel = 0;
      std::atomic<bool> started{false};
      std::atomic<bool> done{false};
      std::thread waiter([&] {
        started = true;
        got_rc = WaitOnAddress(&word, 0, 20 * 1000000000LL, &cancel, &got);
        done = true;
      });
      while (!started) std::this_thread::yield();
      // Then the word changes, and the wake comes more than a slice later.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      reinterpret_cast<std::atomic<uint32_t>*>(&word)->store(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      while (!done) {
        WakeAddress(&word, 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      waiter.join();
      if (!(got_rc == 0 && got == WaitResult::kNotEqual)) break;
    }
    Check(got_rc == 0 && got == WaitResult::kOk,
          "a cancellable wait woken after its word changed returns ok",
          Rc(got_rc) + ", result " + std::to_string(static_cast<int>(got)));
  }
  {
    // A waiter that times out is either woken (counted by WakeAddress) or
    // timed out (not counted), never both: Atomics.notify() counts exactly
    // the waiters it woke. A waker calls WakeAddress back to back while the
    // waiter's short timeout runs out, so that some rounds land between the
    // waiter's decision to return and its leaving (the Windows layer once
    // counted such a waiter, or counted a woken one twice, and left a wake
    // token behind for the next waiter).
    alignas(4) static uint32_t word = 0;
    int mismatches = 0;
    int woken_rounds = 0;
    std::string first;
    for (int round = 0; round < 300; round++) {
      std::atomic<bool> done{false};
      WaitResult got = WaitResult::kNotEqual;
      int got_rc = -1;
      std::thread waiter([&] {
        got_rc = WaitOnAddress(&word, 0, (1 + round % 3) * 1000000LL, nullptr,
                               &got);
        done = true;
      });
      int counted = 0;
      while (!done) counted += WakeAddress(&word, 1);
      waiter.join();
      bool ok = got_rc == 0 && got == WaitResult::kOk;
      if (ok) woken_rounds++;
      if (got_rc != 0 || counted != (ok ? 1 : 0)) {
        if (mismatches++ == 0) {
          first = "round " + std::to_string(round) + ": counted " +
                  std::to_string(counted) + ", result " +
                  std::to_string(static_cast<int>(got)) + ", " + Rc(got_rc);
        }
      }
    }
    Check(mismatches == 0,
          "WakeAddress counts a waiter exactly when its wait returns ok",
          std::to_string(mismatches) + " of 300 rounds differ; first: " + first);
    std::printf("     (%d of 300 rounds woken, the rest timed out)\n",
                woken_rounds);
  }
#ifdef _WIN32
  {
    // What another process's notify looks like here: the word changes and
    // no wake reaches this process. The wait must still end (one slice).
    alignas(4) static uint32_t word = 0;
    WaitResult got = WaitResult::kTimedOut;
    int got_rc = -1;
    std::atomic<bool> started{false};
    std::thread waiter([&] {
      started = true;
      got_rc = WaitOnAddress(&word, 0, 20 * 1000000000LL, nullptr, &got);
    });
    while (!started) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto start = std::chrono::steady_clock::now();
    reinterpret_cast<std::atomic<uint32_t>*>(&word)->store(1);
    waiter.join();
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
    Check(got_rc == 0 && (got == WaitResult::kOk ||
                          got == WaitResult::kNotEqual),
          "a word changed without a wake ends the wait within a slice",
          Rc(got_rc) + " after " + std::to_string(waited) + " ms");
    std::printf("     (seen after %lld ms)\n", static_cast<long long>(waited));
  }
#else
  Skip("a word changed without a wake ends the wait",
       "Windows-only (futexes are woken across processes on Linux)");
#endif
}

#ifdef _WIN32
const char kShmPrefix[] = "";
#else
const char kShmPrefix[] = "/";
#endif

// The shared words of the cross-process wait test.
struct CrossWait {
  uint32_t word;         // waited on
  uint32_t ready;        // the child is about to wait
  uint32_t result;       // the child's WaitResult + 1
  uint32_t pad;
  int64_t woke_ns;       // steady clock when the child's wait returned
};

// A child (a crash must fail one check, not the run): what close() does to
// a pending waitAsync(), many times over. The waiter's cancel word is set
// and the memory unmapped at once, while the waiter's thread may be about to
// read the word or sleep on it. Every wait must end kCancelled: no fault, no
// error from the unmapped word. Exit 0, or 5 + the round's failure.
int UnmapRaceChild(const std::string& name) {
  for (int round = 0; round < 200; round++) {
    MapResult m;
    std::string segment = name + "_" + std::to_string(round);
    if (MapSharedMemory(segment.c_str(), true, 4096, true, kMax, &m) != 0) {
      return 3;
    }
    auto* word = static_cast<uint32_t*>(m.addr) + 16;
    uint32_t cancel = 0;
    WaitResult got = WaitResult::kOk;
    int got_rc = 1;
    std::thread waiter([&] {
      got_rc = WaitOnAddress(word, 0, 20 * 1000000000LL, &cancel, &got);
    });
    // Some rounds let the waiter get further before the close.
    for (int i = 0; i < round % 7 * 50; i++) std::this_thread::yield();
    WakeCancel(&cancel);
    Unmap(m.addr, m.length);
#ifndef _WIN32
    UnlinkSharedMemory(segment.c_str());
#endif
    waiter.join();
    if (got_rc != 0) {
      std::printf("     round %d: %s\n", round, Rc(got_rc).c_str());
      return 5;
    }
    if (got != WaitResult::kCancelled) {
      std::printf("     round %d: result %d\n", round, static_cast<int>(got));
      return 6;
    }
  }
  return 0;
}

void TestUnmapRace() {
  std::string name =
      std::string(kShmPrefix) + "mvunit_race_" + std::to_string(Pid());
  int status = RunChild("--unmap-race-child", name);
  Check(status == 0,
        "a cancelled wait on memory unmapped at once ends kCancelled (200 "
        "rounds, in a child)",
        "child exit status " + std::to_string(status));
}

// The child: opens the segment, says it is ready, waits on the word.
int WaitChild(const std::string& name) {
  MapResult m;
  if (MapSharedMemory(name.c_str(), false, 0, true, kMax, &m) != 0) return 3;
  auto* shared = static_cast<CrossWait*>(m.addr);
  reinterpret_cast<std::atomic<uint32_t>*>(&shared->ready)->store(1);
  WaitResult result;
  int rc = WaitOnAddress(&shared->word, 0, 20 * 1000000000LL, nullptr,
                         &result);
  shared->woke_ns = SteadyNs();
  reinterpret_cast<std::atomic<uint32_t>*>(&shared->result)
      ->store(rc == 0 ? static_cast<uint32_t>(result) + 1 : 100);
  Unmap(m.addr, m.length);
  return rc == 0 ? 0 : 4;
}

void TestCrossProcessWait() {
  std::string name =
      std::string(kShmPrefix) + "mvunit_wait_" + std::to_string(Pid());
  MapResult m;
  int rc = MapSharedMemory(name.c_str(), true, sizeof(CrossWait), true, kMax,
                           &m);
  Check(rc == 0, "create shared memory for a cross-process wait", Rc(rc));
  if (rc != 0) return;
  auto* shared = static_cast<CrossWait*>(m.addr);
  std::memset(shared, 0, sizeof(*shared));
  int64_t notified_ns = 0;
  std::thread notifier([&] {
    auto* ready = reinterpret_cast<std::atomic<uint32_t>*>(&shared->ready);
    auto* result = reinterpret_cast<std::atomic<uint32_t>*>(&shared->result);
    while (ready->load() == 0 && result->load() == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    // Give the child time to be asleep, then notify as another process
    // would: change the word, then wake.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    notified_ns = SteadyNs();
    reinterpret_cast<std::atomic<uint32_t>*>(&shared->word)->store(1);
    WakeAddress(&shared->word, 1);
  });
  int status = RunChild("--wait-child", name);
  if (status == 127) {
    // Nothing ran: let the notifier thread finish, then say so.
    reinterpret_cast<std::atomic<uint32_t>*>(&shared->result)->store(1);
    notifier.join();
    Skip("a wait in another process",
         "this program could not start itself again (exec failed)");
    Unmap(m.addr, m.length);
    UnlinkSharedMemory(name.c_str());
    return;
  }
  notifier.join();
  uint32_t result = shared->result;
  double latency_ms = (shared->woke_ns - notified_ns) / 1e6;
  Check(status == 0 && result == static_cast<uint32_t>(WaitResult::kOk) + 1,
        "a wait in another process ends after the word changes and is woken",
        "child status " + std::to_string(status) + ", result " +
            std::to_string(result));
  std::printf("     (cross-process wake latency: %.2f ms)\n", latency_ms);
  Unmap(m.addr, m.length);
  UnlinkSharedMemory(name.c_str());
}

void TestErrors() {
  Check(ErrnoName(ENOENT) != nullptr &&
            std::strcmp(ErrnoName(ENOENT), "ENOENT") == 0,
        "ErrnoName(ENOENT)");
  Check(ErrnoName(ESTALE) != nullptr &&
            std::strcmp(ErrnoName(ESTALE), "ESTALE") == 0,
        "ErrnoName(ESTALE) (ESTALE is defined on every OS)");
  Check(ErrnoName(ENOSPC) != nullptr && ErrnoName(EEXIST) != nullptr &&
            ErrnoName(ENOMEM) != nullptr && ErrnoName(EACCES) != nullptr,
        "ErrnoName of ENOSPC, EEXIST, ENOMEM, EACCES");
  Check(ErrnoName(0) == nullptr && ErrnoName(-5) == nullptr,
        "ErrnoName of a value outside the table is null");
  int count = 0;
  const ErrnoEntry* table = ErrnoTable(&count);
  bool distinct = true;
  for (int i = 0; i < count; i++) {
    for (int j = i + 1; j < count; j++) {
      // ENOTSUP and EOPNOTSUPP are one value on Linux; the table has one.
      if (table[i].value == table[j].value) distinct = false;
    }
  }
  Check(distinct, "the errno table has no value twice on this OS");
}

}  // namespace

int main(int argc, char** argv) {
#ifndef _WIN32
  self_path = argv[0];
#endif
  if (argc > 2 && std::strcmp(argv[1], "--wait-child") == 0) {
    return WaitChild(argv[2]);
  }
  if (argc > 2 && std::strcmp(argv[1], "--unmap-race-child") == 0) {
    return UnmapRaceChild(argv[2]);
  }
  if (argc > 1 && std::strcmp(argv[1], "--errno") == 0) {
    int count = 0;
    const ErrnoEntry* table = ErrnoTable(&count);
    for (int i = 0; i < count; i++) {
      std::printf("%d %s\n", table[i].value, table[i].name);
    }
    return 0;
  }
  std::printf("platform-unit (%s layer)\n", kOs);
  fs::path dir =
      fs::temp_directory_path() / ("mvunit-" + std::to_string(Pid()));
  fs::create_directories(dir);
  TestFiles(dir);
  TestPaging(dir);
  TestResize(dir);
  TestSharedMemory();
  TestWait();
  TestCrossProcessWait();
  TestUnmapRace();
  TestErrors();
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  std::printf("platform-unit: %d passed, %d failed, %d skipped\n", passed,
              failed, skipped);
  return failed == 0 ? 0 : 1;
}
