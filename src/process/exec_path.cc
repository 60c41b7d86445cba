#include "process/exec_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

namespace nsbox::process {
namespace {

// 0 when `path` is a regular file with an execute bit; an errno otherwise.
int check_executable(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) < 0) return errno;
  if (S_ISDIR(st.st_mode)) return EISDIR;
  if ((st.st_mode & 0111) == 0) return EACCES;
  return 0;
}


}  // namespace

// Go spells errno texts in lower case ("no such file or directory"); runc's messages, which
// engines match, carry them that way.
std::string go_strerror(int e) {
  std::string s = std::strerror(e);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

Result<std::string> look_path(const std::string& name, const std::vector<std::string>& env) {
  std::string prefix = "exec: \"" + name + "\"";
  if (name.find('/') != std::string::npos) {
    int e = check_executable(name);
    if (e == 0) return name;
    if (e == ENOENT || e == ENOTDIR) {
      return fail(prefix + ": stat " + name + ": " + go_strerror(e));
    }
    return fail(prefix + ": " + go_strerror(e == EISDIR ? EACCES : e));
  }
  std::string path;
  for (const auto& kv : env) {
    if (kv.starts_with("PATH=")) path = kv.substr(5);
  }
  size_t i = 0;
  while (!path.empty() && i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + name;
    if (check_executable(cand) == 0) return cand;
    i = j + 1;
  }
  return fail(prefix + ": executable file not found in $PATH");
}

}  // namespace nsbox::process
