#pragma once
// Small, stable, non-cryptographic hashes for deriving seeds and fingerprints that must be the
// same on every machine and build (std::hash makes no such promise).

#include <cstdint>
#include <string_view>

namespace reelforge {

// FNV-1a, 64 bit.
inline uint64_t fnv1a64(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// The splitmix64 finaliser: a well-mixed 64-bit value from any 64-bit input.
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace reelforge
