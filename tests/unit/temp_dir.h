// A private temporary directory for one test, removed (recursively) when it goes out of scope.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace nsbox::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "nsbox-unit-XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
      return;
    }
    path_ = buf.data();
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

  // Helpers relative to the directory.
  void mkdir(const std::string& rel, mode_t mode = 0755) const {
    std::filesystem::create_directories(path_ + "/" + rel);
    ::chmod((path_ + "/" + rel).c_str(), mode);
  }
  void write(const std::string& rel, const std::string& text, mode_t mode = 0644) const {
    std::ofstream(path_ + "/" + rel) << text;
    ::chmod((path_ + "/" + rel).c_str(), mode);
  }

 private:
  std::string path_;
};

}  // namespace nsbox::testing
