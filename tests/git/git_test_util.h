// Shared helpers for the git module tests: unique temp dirs and a scratch work repository.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "git/process.h"

namespace guts::git::testing {

namespace fs = std::filesystem;

inline fs::path unique_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "x";
  fs::path p = fs::temp_directory_path() / ("guts-git-" + tag + "-" + std::to_string(::getpid()) +
                                            "-" + std::to_string(counter++) + "-" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag = "t") : path(unique_dir(tag)) {}
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Runs git with a fixed identity and dates, asserting success; returns trimmed stdout.
inline std::string git_ok(const fs::path& cwd, const std::vector<std::string>& args,
                          std::string_view input = {}) {
  GitOptions o;
  o.cwd = cwd;
  o.env = {{"GIT_AUTHOR_NAME", "Ada"},
           {"GIT_AUTHOR_EMAIL", "ada@example.com"},
           {"GIT_COMMITTER_NAME", "Ada"},
           {"GIT_COMMITTER_EMAIL", "ada@example.com"},
           {"GIT_AUTHOR_DATE", "1700000000 +0000"},
           {"GIT_COMMITTER_DATE", "1700000000 +0000"}};
  auto r = run_git(args, o, input);
  if (!r.ok()) {
    std::string cmd;
    for (auto& a : args) cmd += a + " ";
    ADD_FAILURE() << "git " << cmd << "failed: " << r.exit.describe() << "\n" << r.err;
  }
  return trim(r.out);
}

inline GitResult git_run(const fs::path& cwd, const std::vector<std::string>& args,
                         std::string_view input = {},
                         std::vector<std::pair<std::string, std::string>> env = {}) {
  GitOptions o;
  o.cwd = cwd;
  o.env = std::move(env);
  return run_git(args, o, input);
}

inline void write_file(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary);
  f << content;
}

// A non-bare work repository for producing commits and packs.
struct WorkRepo {
  fs::path dir;
  explicit WorkRepo(fs::path d) : dir(std::move(d)) {
    fs::create_directories(dir);
    git_ok(dir, {"init", "-q", "--initial-branch=main"});
  }
  std::string commit(const std::string& file, const std::string& content,
                     const std::string& message) {
    write_file(dir / file, content);
    git_ok(dir, {"add", "-A"});
    git_ok(dir, {"commit", "-q", "-m", message});
    return head();
  }
  std::string head() { return git_ok(dir, {"rev-parse", "HEAD"}); }
  // A pack with objects reachable from `tips` but not from `exclude`.
  std::string pack(const std::vector<std::string>& tips, const std::vector<std::string>& exclude,
                   bool thin = false) {
    std::string in;
    for (auto& t : tips) in += t + "\n";
    for (auto& e : exclude) in += "^" + e + "\n";
    std::vector<std::string> args = {"pack-objects", "--stdout", "--revs", "-q"};
    if (thin) args.push_back("--thin");
    GitOptions o;
    o.cwd = dir;
    auto r = run_git(args, o, in);
    EXPECT_TRUE(r.ok()) << r.err;
    return r.out;
  }
};

}  // namespace guts::git::testing
