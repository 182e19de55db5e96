// Stand-in for libFuzzer's driver when Portico is not built with -fsanitize=fuzzer: runs every
// file (or every file of every directory) named on the command line, then a fixed-seed stream
// of random inputs and mutations of those files, so CI exercises each decoder under ASan/UBSan.
//   fuzz_x [--runs=N] [file-or-dir...]
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void run(const std::vector<uint8_t>& input) { LLVMFuzzerTestOneInput(input.data(), input.size()); }

}  // namespace

int main(int argc, char** argv) {
  unsigned long runs = 20000;
  std::vector<std::vector<uint8_t>> corpus;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--runs=", 0) == 0) {
      runs = std::stoul(arg.substr(7));
      continue;
    }
    const std::filesystem::path path(arg);
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::directory_iterator(path)) {
        if (entry.is_regular_file()) corpus.push_back(read_file(entry.path()));
      }
    } else {
      corpus.push_back(read_file(path));
    }
  }
  for (const auto& input : corpus) run(input);

  std::mt19937 rng(0x5eed);  // fixed: a failure reproduces
  std::uniform_int_distribution<int> byte(0, 255);
  for (unsigned long n = 0; n < runs; ++n) {
    std::vector<uint8_t> input;
    if (!corpus.empty() && n % 4 != 0) {
      // Mutate a corpus entry: flip a few bytes, maybe truncate or extend.
      input = corpus[n % corpus.size()];
      const int edits = 1 + static_cast<int>(rng() % 8);
      for (int e = 0; e < edits && !input.empty(); ++e) {
        input[rng() % input.size()] = static_cast<uint8_t>(byte(rng));
      }
      if (rng() % 8 == 0) input.resize(rng() % (input.size() + 64));
    } else {
      input.resize(rng() % 1024);
      for (auto& b : input) b = static_cast<uint8_t>(byte(rng));
    }
    run(input);
  }
  std::printf("%zu corpus inputs, %lu generated inputs: ok\n", corpus.size(), runs);
  return 0;
}
