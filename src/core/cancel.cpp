#include "reelforge/core/cancel.hpp"

#include "reelforge/core/error.hpp"

namespace reelforge {

void CancellationToken::throw_if_cancelled(const std::string& what) const {
  if (cancelled()) throw Error(ErrorCategory::Cancelled, "cancelled by the user", what);
}

}  // namespace reelforge
