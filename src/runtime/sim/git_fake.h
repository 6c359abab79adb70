// A git object store fake for the whole-node simulator: objects live in memory, but keep real
// git object ids (SHA-1 of "<type> <len>\0<content>"), so a corrupt object is detected exactly
// as the real replication detects it, by hashing. The store models a node's object directory on
// disk: it survives crashes (git writes objects before any ref points at them).
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "core/bytes.h"

namespace guts::runtime::sim {

using Oid = std::array<uint8_t, 20>;

// SHA-1 (FIPS 180-4), only for object ids in the simulator.
Oid sha1(ByteView data);
// git's object id: SHA-1 of "<type> <len>\0<content>".
Oid object_id(const std::string& type, ByteView content);
std::string oid_hex(const Oid& oid);
Bytes oid_bytes(const Oid& oid);
Oid oid_from_bytes(ByteView b);  // b must be 20 bytes

struct GitObject {
  std::string type;  // "blob", "tree", "commit"
  Bytes content;
};

class GitStore {
 public:
  bool has(const Oid& oid) const { return objects_.count(oid) > 0; }
  const GitObject* get(const Oid& oid) const;
  // Stores an object under its computed id and returns it.
  Oid put(GitObject obj);
  size_t size() const { return objects_.size(); }

 private:
  std::map<Oid, GitObject> objects_;
};

// The object ids an object refers to: a commit's tree and parents, a tree's entries.
std::vector<Oid> references(const GitObject& obj);

// Builders of real git objects.
GitObject make_blob(std::string_view text);
GitObject make_tree(const std::string& name, const Oid& blob);
GitObject make_commit(const Oid& tree, const Oid* parent, std::string_view message);

}  // namespace guts::runtime::sim
