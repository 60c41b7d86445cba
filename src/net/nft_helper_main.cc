// nsbox-nft: runs one nftables script for nsbox through libnftables.
//
// nsbox itself is a static binary and Debian has libnftables only as a shared library, so the
// firewall changes live in this small dynamically linked helper (src/net/nft.h builds the
// scripts and starts it). It is started only when a network is made or removed or a
// container publishes ports.
//
//   nsbox-nft          reads a script from standard input and runs it as one transaction:
//                      exit 0, or exit 1 with libnftables' error reduced to one line on stderr
//   nsbox-nft --list   prints `list table inet nsbox` as JSON (inspection and tests)

#include <nftables/libnftables.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

// The text an error points at is worth showing only while it reads as a phrase.
constexpr size_t kMaxShownSpan = 60;

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

// The part of `source` that the marker line under it underlines ('^', else '~'): nft prints
// the offending line, then a line of spaces (a tab under a tab) and markers below it.
std::string_view marked(std::string_view source, std::string_view markers) {
  for (char m : {'^', '~'}) {
    size_t begin = markers.find(m);
    if (begin == std::string_view::npos || begin >= source.size()) continue;
    size_t end = markers.find_first_not_of(m, begin);
    if (end == std::string_view::npos) end = markers.size();
    return source.substr(begin, end - begin);
  }
  return {};
}

// libnftables' error text, as one line: the first "Error: " message without its location
// ("<cmdline>:3:35-44: "), then what it points at when that is short:
//   could not process rule: File exists (at "tcp . 8080")
std::string one_line(std::string_view errors) {
  auto lines = lines_of(errors);
  for (size_t i = 0; i < lines.size(); ++i) {
    size_t at = lines[i].find("Error: ");
    if (at == std::string_view::npos) continue;
    std::string msg(lines[i].substr(at + 7));
    if (i + 2 < lines.size()) {
      std::string_view span = marked(lines[i + 1], lines[i + 2]);
      if (!span.empty() && span.size() <= kMaxShownSpan) msg += " (at \"" + std::string(span) + "\")";
    }
    if (!msg.empty() && msg[0] >= 'A' && msg[0] <= 'Z' && !(msg.size() > 1 && msg[1] >= 'A' && msg[1] <= 'Z')) {
      msg[0] = static_cast<char>(msg[0] - 'A' + 'a');  // one sentence style with nsbox's errors
    }
    return msg;
  }
  for (auto line : lines) {
    if (line.find_first_not_of(" \t") != std::string_view::npos) return std::string(line);
  }
  return "libnftables failed with no message";
}

// `script`, or standard input when null. libnftables reads standard input itself: given as a
// buffer, a script's errors come with its first line instead of the one they are on.
int run(const char* script, bool json) {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx == nullptr) {
    std::fprintf(stderr, "cannot create an nftables context\n");
    return 1;
  }
  if (json) nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  int rc = script != nullptr ? nft_run_cmd_from_buffer(ctx, script) : nft_run_cmd_from_filename(ctx, "/dev/stdin");
  if (rc != 0) {
    const char* err = nft_ctx_get_error_buffer(ctx);
    std::fprintf(stderr, "%s\n", one_line(err != nullptr ? err : "").c_str());
  } else if (const char* out = nft_ctx_get_output_buffer(ctx); out != nullptr) {
    std::fputs(out, stdout);
    if (*out != '\0' && out[std::strlen(out) - 1] != '\n') std::fputc('\n', stdout);
  }
  nft_ctx_free(ctx);
  return rc == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--list") == 0) return run("list table inet nsbox", true);
  if (argc != 1) {
    std::fprintf(stderr, "usage: nsbox-nft [--list] (a script on standard input)\n");
    return 2;
  }
  return run(nullptr, false);
}
