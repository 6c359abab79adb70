// Per-step control groups (runner/cgroup.h).
#include "runner/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string_view>

namespace guts::runner {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool has_word(const std::string& text, const std::string& word) {
  std::stringstream ss(text);
  std::string w;
  while (ss >> w)
    if (w == word) return true;
  return false;
}

bool writable_dir(const std::string& dir) {
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && ::access(dir.c_str(), W_OK) == 0;
}

// O_CREAT: a control file exists in a group (cgroupfs refuses to create one that does not, so
// a missing controller still fails); plain directories in tests need it.
bool write_file(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  ::close(fd);
  return ok;
}

// The value of `key` in a "key value" per line file (memory.events, memory.oom_control).
uint64_t keyed(const std::string& text, const std::string& key) {
  std::stringstream ss(text);
  std::string k;
  uint64_t v = 0;
  while (ss >> k >> v)
    if (k == key) return v;
  return 0;
}

}  // namespace

Cgroups Cgroups::detect(const std::string& root, std::string* why) {
  Cgroups c;
  // cgroup v2: the unified hierarchy at the root, or mounted at <root>/unified (hybrid hosts).
  for (const auto& dir : {root, root + "/unified"}) {
    auto controllers = read_file(dir + "/cgroup.controllers");
    if (controllers.empty()) continue;
    if (!has_word(controllers, "memory") || !has_word(controllers, "pids")) {
      if (why) *why = dir + ": cgroup v2 without the memory and pids controllers";
      continue;
    }
    if (!writable_dir(dir)) {
      if (why) *why = dir + ": cgroup v2 not writable (not delegated to this user)";
      continue;
    }
    // Children get the controllers only when the parent enables them for its subtree.
    auto subtree = read_file(dir + "/cgroup.subtree_control");
    if (!has_word(subtree, "memory") || !has_word(subtree, "pids")) {
      if (!write_file(dir + "/cgroup.subtree_control", "+memory +pids")) {
        if (why) *why = dir + ": cannot enable memory and pids for child groups";
        continue;
      }
    }
    c.kind_ = Kind::kV2;
    c.v2_dir_ = dir;
    return c;
  }
  if (writable_dir(root + "/memory") && writable_dir(root + "/pids") &&
      ::access((root + "/memory/memory.limit_in_bytes").c_str(), F_OK) == 0) {
    c.kind_ = Kind::kV1;
    c.v1_memory_ = root + "/memory";
    c.v1_pids_ = root + "/pids";
    return c;
  }
  if (why && why->empty())
    *why = "no writable cgroup hierarchy with memory and pids controllers under " + root;
  return c;
}

const char* Cgroups::kind_name() const {
  switch (kind_) {
    case Kind::kV2:
      return "cgroup v2";
    case Kind::kV1:
      return "cgroup v1";
    case Kind::kNone:
      break;
  }
  return "none";
}

size_t Cgroups::remove_stale() const {
  size_t removed = 0;
  for (const auto& parent : {v2_dir_, v1_memory_, v1_pids_}) {
    if (parent.empty()) continue;
    DIR* d = ::opendir(parent.c_str());
    if (!d) continue;
    std::vector<std::string> stale;
    while (auto* e = ::readdir(d)) {
      std::string name = e->d_name;
      constexpr std::string_view kPrefix = "guts-runner-";
      if (name.rfind(kPrefix, 0) != 0) continue;
      auto rest = name.substr(kPrefix.size());
      auto dash = rest.find('-');
      if (dash == 0 || dash == std::string::npos || dash > 9 ||
          rest.find_first_not_of("0123456789") < dash)
        continue;
      pid_t pid = static_cast<pid_t>(std::stol(rest.substr(0, dash)));
      if (::kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(parent + "/" + name);
    }
    ::closedir(d);
    for (const auto& dir : stale)
      if (::rmdir(dir.c_str()) == 0) ++removed;  // a group still holding processes stays
  }
  return removed;
}

std::optional<StepCgroup> Cgroups::create(const std::string& name, const CgroupLimits& limits,
                                          std::string* why) const {
  StepCgroup g;
  auto make = [&](const std::string& parent) -> std::optional<std::string> {
    std::string dir = parent + "/" + name;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      if (why) *why = "cannot create " + dir;
      return std::nullopt;
    }
    g.dirs_.push_back(dir);
    return dir;
  };
  auto limit = [&](const std::string& file, uint64_t value) {
    if (write_file(file, std::to_string(value))) return true;
    if (why) *why = "cannot write " + file;
    return false;
  };
  auto join = [&](const std::string& dir) {
    int fd = ::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (why) *why = "cannot open " + dir + "/cgroup.procs";
      return false;
    }
    g.join_fds_.push_back(fd);
    return true;
  };
  if (kind_ == Kind::kV2) {
    auto dir = make(v2_dir_);
    if (!dir) return std::nullopt;
    g.v2_ = true;
    g.memory_dir_ = *dir;
    if (!limit(*dir + "/memory.max", limits.memory_bytes) ||
        !limit(*dir + "/pids.max", limits.pids) || !join(*dir))
      return std::nullopt;
    // No swapping around the limit where swap is accounted (the file is absent otherwise).
    write_file(*dir + "/memory.swap.max", "0");
    return g;
  }
  if (kind_ == Kind::kV1) {
    auto mem = make(v1_memory_);
    auto pids = mem ? make(v1_pids_) : std::nullopt;
    if (!mem || !pids) return std::nullopt;
    g.memory_dir_ = *mem;
    if (!limit(*mem + "/memory.limit_in_bytes", limits.memory_bytes) ||
        !limit(*pids + "/pids.max", limits.pids) || !join(*mem) || !join(*pids))
      return std::nullopt;
    return g;
  }
  if (why) *why = "no cgroups";
  return std::nullopt;
}

StepCgroup::StepCgroup(StepCgroup&& o) noexcept
    : dirs_(std::move(o.dirs_)),
      join_fds_(std::move(o.join_fds_)),
      memory_dir_(std::move(o.memory_dir_)),
      v2_(o.v2_) {
  o.dirs_.clear();
  o.join_fds_.clear();
}

StepCgroup& StepCgroup::operator=(StepCgroup&& o) noexcept {
  if (this != &o) {
    release();
    dirs_ = std::move(o.dirs_);
    join_fds_ = std::move(o.join_fds_);
    memory_dir_ = std::move(o.memory_dir_);
    v2_ = o.v2_;
    o.dirs_.clear();
    o.join_fds_.clear();
  }
  return *this;
}

StepCgroup::~StepCgroup() {
  release();
}

void StepCgroup::release() {
  for (int fd : join_fds_) ::close(fd);
  join_fds_.clear();
  // A group can be removed once empty; the step's process group was waited for (or killed).
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) ::rmdir(it->c_str());
  dirs_.clear();
}

bool StepCgroup::oom_killed() const {
  if (memory_dir_.empty()) return false;
  return keyed(read_file(memory_dir_ + (v2_ ? "/memory.events" : "/memory.oom_control")),
               "oom_kill") > 0;
}

}  // namespace guts::runner
