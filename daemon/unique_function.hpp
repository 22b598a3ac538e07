#pragma once
// A move-only std::function: what a call leaves waiting (on polkit, on a
// worker) owns the call's sdbus::Result, which cannot be copied.
#include <memory>
#include <utility>

namespace kexecd {

template <typename Sig>
class UniqueFunction;

template <typename R, typename... A>
class UniqueFunction<R(A...)> {
  public:
    UniqueFunction() = default;
    template <typename F>
    UniqueFunction(F f) : impl_(std::make_unique<Impl<F>>(std::move(f))) {}
    explicit operator bool() const { return impl_ != nullptr; }
    R operator()(A... a) { return impl_->call(std::forward<A>(a)...); }

  private:
    struct Base {
        virtual ~Base() = default;
        virtual R call(A... a) = 0;
    };
    template <typename F>
    struct Impl final : Base {
        explicit Impl(F f) : f(std::move(f)) {}
        R call(A... a) override { return f(std::forward<A>(a)...); }
        F f;
    };
    std::unique_ptr<Base> impl_;
};

using Job = UniqueFunction<void()>;

}  // namespace kexecd
