#pragma once
// Optional libraries loaded on first use, as systemd dlopen()s its own: a
// daemon that never needs one does not map it (zlib for gzip'd kernels,
// libcurl for [Fleet] coordination).
#include <dlfcn.h>

#include <mutex>
#include <string>

namespace kexecd {

class DynLib {
  public:
    explicit DynLib(const char* soname) : soname_(soname) {}
    DynLib(const DynLib&) = delete;
    DynLib& operator=(const DynLib&) = delete;

    // Loads the library and runs `fill(*this)`, which looks its functions up
    // with sym(), once; every call returns the outcome: "" when all is
    // there, else why not.
    template <typename Fill>
    const std::string& load(Fill fill) {
        std::call_once(once_, [&] {
            lib_ = ::dlopen(soname_, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
            if (!lib_) {
                error_ = std::string(soname_) + " cannot be loaded (" + ::dlerror() + ")";
                return;
            }
            fill(*this);
        });
        return error_;
    }
    template <typename F>
    void sym(const char* name, F* out) {
        *out = reinterpret_cast<F>(::dlsym(lib_, name));
        if (!*out) fail(std::string(soname_) + " has no " + name);
    }
    // For what else `fill` finds wrong (an initialisation that failed).
    void fail(std::string why) {
        if (error_.empty()) error_ = std::move(why);
    }

  private:
    const char* soname_;
    std::once_flag once_;
    void* lib_ = nullptr;
    std::string error_;
};

}  // namespace kexecd
