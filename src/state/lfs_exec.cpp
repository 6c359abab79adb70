// Kinds 49-51 (state/lfs.h): LFS objects of a repository, its usage, its locks.
#include "crypto/hash.h"
#include "state/lfs_state.h"
#include "state/permission.h"
#include "state/rejections.h"
#include "state/tx.h"

namespace guts::state {

std::optional<uint64_t> lfs_object_size(const StateView& view, uint64_t repo_id,
                                        const std::array<uint8_t, 32>& oid) {
  auto v = view.kv().get(view.schema().governance, lfs_object_key(repo_id, oid));
  if (!v) return std::nullopt;
  codec::Reader r(as_bytes(*v));
  return r.varint();
}

uint64_t lfs_usage(const StateView& view, uint64_t repo_id) {
  auto v = view.kv().get(view.schema().governance, lfs_usage_key(repo_id));
  return v && v->size() == 8 ? storage::read_be64(*v) : 0;
}

uint64_t lfs_owner_usage(const StateView& view, const crypto::PublicKey& owner) {
  uint64_t total = 0;
  for (const auto& r : view.repos_of(owner)) total += lfs_usage(view, r.id);
  return total;
}

std::vector<LfsLock> lfs_locks(const StateView& view, uint64_t repo_id) {
  std::vector<LfsLock> out;
  view.kv().scan_prefix(view.schema().governance, lfs_lock_prefix(repo_id),
                        [&](std::string_view, std::string_view v) {
                          out.push_back(decode_lfs_lock(v));
                          return true;
                        });
  return out;
}

std::optional<LfsLock> lfs_lock(const StateView& view, uint64_t repo_id, uint64_t id) {
  auto v = view.kv().get(view.schema().governance, lfs_lock_key(repo_id, id));
  if (!v) return std::nullopt;
  return decode_lfs_lock(*v);
}

std::optional<LfsLock> lfs_lock_by_path(const StateView& view, uint64_t repo_id,
                                        std::string_view path) {
  auto v = view.kv().get(view.schema().governance, lfs_lock_path_key(repo_id, path));
  if (!v || v->size() != 8) return std::nullopt;
  return lfs_lock(view, repo_id, storage::read_be64(*v));
}

Status apply_lfs(const Schema& s, Overlay& state, const Transaction& tx, uint64_t now_ms) {
  StateView view(s, state);
  auto repo_of = [&](uint64_t id, Permission need, Permission* have_out) -> Status {
    auto repo = view.repo(id);
    auto have = repo ? effective_permission(view, *repo, tx.author) : Permission::kNone;
    if (!repo || have == Permission::kNone)
      return reject::not_found("repository " + std::to_string(id) + " does not exist");
    if (have < need)
      return reject::denied(std::string("Must have ") + permission_name(need) +
                            " rights to Repository.");
    if (have_out) *have_out = have;
    return Status::Ok();
  };
  return std::visit(
      [&](const auto& b) -> Status {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, LfsAddObjects>) {
          if (auto st = repo_of(b.repo_id, Permission::kWrite, nullptr); !st.ok()) return st;
          if (b.objects.empty() || b.objects.size() > kMaxLfsObjectsPerTx)
            return reject::invalid("objects: 1 to " + std::to_string(kMaxLfsObjectsPerTx));
          uint64_t usage = lfs_usage(view, b.repo_id);
          for (size_t i = 0; i < b.objects.size(); ++i) {
            const auto& o = b.objects[i];
            if (i > 0 && !(b.objects[i - 1].oid < o.oid))
              return reject::invalid("objects: oids not sorted or repeated");
            if (o.size > kMaxLfsObjectBytes) return reject::invalid("object size: too large");
            if (auto have = lfs_object_size(view, b.repo_id, o.oid)) {
              if (*have != o.size)
                return reject::invalid("object " + hex_encode(o.oid) + ": recorded with size " +
                                       std::to_string(*have));
              continue;  // already recorded: not counted twice
            }
            codec::Writer w;
            w.varint(o.size);
            auto v = w.take();
            state.put(s.governance, lfs_object_key(b.repo_id, o.oid),
                      std::string(v.begin(), v.end()));
            usage += o.size;
          }
          state.put(s.governance, lfs_usage_key(b.repo_id), storage::be64(usage));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, LfsCreateLock>) {
          if (auto st = repo_of(b.repo_id, Permission::kWrite, nullptr); !st.ok()) return st;
          if (!valid_lfs_path(b.path))
            return reject::invalid("path: must be a relative path of 1 to " +
                                   std::to_string(kMaxLfsPathBytes) + " bytes");
          if (auto held = lfs_lock_by_path(view, b.repo_id, b.path))
            return reject::conflict("lock exists: " + b.path + " is locked (lock " +
                                    std::to_string(held->id) + ")");
          auto next = state.get(s.governance, lfs_next_lock_key(b.repo_id));
          uint64_t id = next && next->size() == 8 ? storage::read_be64(*next) : 1;
          LfsLock lock{id, b.path, tx.author, now_ms};
          state.put(s.governance, lfs_lock_key(b.repo_id, id), encode_lfs_lock(lock));
          state.put(s.governance, lfs_lock_path_key(b.repo_id, b.path), storage::be64(id));
          state.put(s.governance, lfs_next_lock_key(b.repo_id), storage::be64(id + 1));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, LfsDeleteLock>) {
          Permission have = Permission::kNone;
          if (auto st = repo_of(b.repo_id, Permission::kWrite, &have); !st.ok()) return st;
          auto lock = lfs_lock(view, b.repo_id, b.lock_id);
          if (!lock) return reject::not_found("lock " + std::to_string(b.lock_id) + " not found");
          if (lock->owner != tx.author) {
            if (!b.force)
              return reject::denied("lock " + std::to_string(b.lock_id) +
                                    " is owned by another user: unlock it with force");
            if (have < Permission::kAdmin)
              return reject::denied("Must have admin rights to Repository to force an unlock.");
          }
          state.del(s.governance, lfs_lock_key(b.repo_id, lock->id));
          state.del(s.governance, lfs_lock_path_key(b.repo_id, lock->path));
          return Status::Ok();
        } else {
          return reject::invalid("not an LFS transaction");
        }
      },
      tx.body);
}

}  // namespace guts::state
