#include "process/home.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "ns/in_root.h"

namespace nsbox::process {

std::string home_from_passwd(const std::string& passwd, uint32_t uid) {
  size_t i = 0;
  while (i < passwd.size()) {
    size_t end = passwd.find('\n', i);
    if (end == std::string::npos) end = passwd.size();
    std::string line = passwd.substr(i, end - i);
    i = end + 1;
    // name:password:uid:gid:gecos:home:shell
    std::vector<std::string> f;
    size_t s = 0;
    for (;;) {
      size_t c = line.find(':', s);
      f.push_back(line.substr(s, c == std::string::npos ? std::string::npos : c - s));
      if (c == std::string::npos) break;
      s = c + 1;
    }
    if (f.size() < 6 || f[2].empty() || !std::all_of(f[2].begin(), f[2].end(), ::isdigit)) continue;
    if (f[2].size() > 10 || std::stoull(f[2]) != uid) continue;
    return f[5];
  }
  return "";
}

std::vector<std::string> with_home(std::vector<std::string> env, uint32_t uid) {
  bool has = std::any_of(env.begin(), env.end(), [](const std::string& e) { return e.starts_with("HOME=") && e.size() > 5; });
  if (has) return env;
  std::erase_if(env, [](const std::string& e) { return e == "HOME="; });
  std::string home;
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root) {
    if (auto fd = ns::open_file(root.get(), "/etc/passwd", O_RDONLY | O_NOFOLLOW | O_NONBLOCK)) {
      // A regular file of a sane size only (fs::read_document's rules).
      if (auto text = fs::read_document_fd(fd->get(), "/etc/passwd")) home = home_from_passwd(*text, uid);
    }
  }
  env.push_back("HOME=" + (home.empty() ? std::string("/") : home));
  return env;
}

}  // namespace nsbox::process
