// A move-only callable with small-buffer storage (std::move_only_function is C++23).
// Completions on the I/O path capture a few pointers; those fit inline and never allocate.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace portico {

template <typename Signature>
class UniqueFunction;

template <typename R, typename... Args>
class UniqueFunction<R(Args...)> {
  static constexpr std::size_t kInlineSize = 6 * sizeof(void*);

  struct Ops {
    R (*invoke)(void* storage, Args&&... args);
    void (*move_to)(void* from, void* to) noexcept;
    void (*destroy)(void* storage) noexcept;
  };

  template <typename F>
  static constexpr bool fits_inline =
      sizeof(F) <= kInlineSize && alignof(F) <= alignof(std::max_align_t) &&
      std::is_nothrow_move_constructible_v<F>;

  template <typename F>
  static F* target(void* storage) {
    if constexpr (fits_inline<F>) {
      return std::launder(reinterpret_cast<F*>(storage));  // NOLINT
    } else {
      return *std::launder(reinterpret_cast<F**>(storage));  // NOLINT
    }
  }

  template <typename F>
  static constexpr Ops ops_for = {
      [](void* s, Args&&... args) -> R { return (*target<F>(s))(std::forward<Args>(args)...); },
      [](void* from, void* to) noexcept {
        if constexpr (fits_inline<F>) {
          ::new (to) F(std::move(*target<F>(from)));
          target<F>(from)->~F();
        } else {
          ::new (to) F*(target<F>(from));
        }
      },
      [](void* s) noexcept {
        if constexpr (fits_inline<F>) {
          target<F>(s)->~F();
        } else {
          delete target<F>(s);
        }
      },
  };

 public:
  UniqueFunction() = default;
  UniqueFunction(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)

  template <typename F, typename D = std::decay_t<F>,
            typename = std::enable_if_t<!std::is_same_v<D, UniqueFunction> &&
                                        std::is_invocable_r_v<R, D&, Args...>>>
  UniqueFunction(F&& f) {  // NOLINT(google-explicit-constructor)
    if constexpr (fits_inline<D>) {
      ::new (static_cast<void*>(storage_)) D(std::forward<F>(f));
    } else {
      ::new (static_cast<void*>(storage_)) D*(new D(std::forward<F>(f)));
    }
    ops_ = &ops_for<D>;
  }

  UniqueFunction(UniqueFunction&& other) noexcept { take(other); }
  UniqueFunction& operator=(UniqueFunction&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  UniqueFunction(const UniqueFunction&) = delete;
  UniqueFunction& operator=(const UniqueFunction&) = delete;
  ~UniqueFunction() { reset(); }

  explicit operator bool() const { return ops_ != nullptr; }

  R operator()(Args... args) { return ops_->invoke(storage_, std::forward<Args>(args)...); }

  void reset() noexcept {
    if (ops_ != nullptr) {
      ops_->destroy(storage_);
      ops_ = nullptr;
    }
  }

 private:
  void take(UniqueFunction& other) noexcept {
    if (other.ops_ != nullptr) {
      other.ops_->move_to(other.storage_, storage_);
      ops_ = other.ops_;
      other.ops_ = nullptr;
    }
  }

  alignas(std::max_align_t) std::byte storage_[kInlineSize];
  const Ops* ops_ = nullptr;
};

}  // namespace portico
