// gtest fixture shared by the e2e suites: a fresh node and user alice per test.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "tests/e2e/e2e_harness.h"

namespace guts::e2e {

class GitE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        std::make_unique<TempDir>(::testing::UnitTest::GetInstance()->current_test_info()->name());
    node_ = std::make_unique<Node>(root_->path() / "node", node_args());
    node_->start();
    alice_ = std::make_unique<User>(root_->path(), "alice", *node_);
    alice_->sign_up();
  }
  // Extra guts-node options of a fixture.
  virtual std::vector<std::string> node_args() const { return {}; }
  void TearDown() override {
    if (HasFailure() && node_) std::cerr << "---- node log ----\n" << node_->log() << "\n";
    if (node_) node_->stop();
  }

  User make_user(const std::string& name) {
    User u(root_->path(), name, *node_);
    u.sign_up();
    return u;
  }

  // Creates a repository through the CLI; returns its id.
  uint64_t create_repo(const User& u, const std::string& name, bool is_private = false) {
    std::vector<std::string> args{"repo", "create", name, "--json"};
    if (is_private) args.push_back("--private");
    auto r = u.guts(args);
    if (!r.ok()) throw std::runtime_error("guts repo create: " + r.both());
    auto j = nlohmann::json::parse(r.out);
    return j["id"].get<uint64_t>();
  }

  // PATCH /repos/{owner}/{repo} allow_force_pushes.
  void allow_force(const User& u, const std::string& repo, bool allow) {
    std::string body = std::string("{\"allow_force_pushes\":") + (allow ? "true" : "false") + "}";
    ASSERT_EQ(u.api("PATCH", "/api/v3/repos/" + u.name() + "/" + repo, body), 200);
  }

  fs::path dir(const std::string& name) { return root_->path() / name; }

  // A new local repository with one commit on main; returns its path.
  fs::path local_repo(const User& u, const std::string& name) {
    auto d = dir(name);
    auto r = u.git({"init", "-q", "-b", "main", d.string()});
    if (!r.ok()) throw std::runtime_error("git init: " + r.both());
    commit_file(u, d, "README.md", "# " + name + "\n", "initial commit");
    return d;
  }

  std::unique_ptr<TempDir> root_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<User> alice_;
};

}  // namespace guts::e2e
