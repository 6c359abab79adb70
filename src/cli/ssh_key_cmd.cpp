// guts ssh-key add|list|remove: the SSH public keys that authenticate git over SSH
// (/api/v3/user/keys; docs/git.md "Git over SSH"). The identity key itself needs no registration.
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "cli/context.h"
#include "core/status.h"

namespace guts::cli {

void add_ssh_key_commands(CLI::App& app, ContextFn ctx) {
  auto* cmd = app.add_subcommand("ssh-key", "SSH public keys for git over SSH");
  cmd->require_subcommand(1);
  struct Args {
    std::string file, title, id;
  };
  auto a = std::make_shared<Args>();

  auto* add = cmd->add_subcommand("add", "Add a public key (e.g. ~/.ssh/id_ed25519.pub)");
  add->add_option("file", a->file, "Public key file ('-': standard input)")->required();
  add->add_option("--title", a->title, "A name for the key (default: the key's comment)");
  add->callback([ctx, a] {
    auto& c = ctx();
    std::string text;
    if (a->file == "-") {
      std::ostringstream ss;
      ss << std::cin.rdbuf();
      text = ss.str();
    } else {
      std::ifstream in(a->file);
      if (!in) throw Error(Code::kNotFound, "cannot read " + a->file);
      std::ostringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
    if (text.size() > 16 * 1024) throw Error(Code::kInvalidArgument, "key file too large");
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    json body{{"key", text}};
    if (!a->title.empty()) body["title"] = a->title;
    auto r = c.expect(c.client().post("/api/v3/user/keys", body.dump()), {201});
    c.print(r, "added SSH key " + std::to_string(r["id"].get<uint64_t>()) + " (" +
                   r["title"].get<std::string>() + ")");
  });

  auto* list = cmd->add_subcommand("list", "List your SSH keys");
  list->callback([ctx] {
    auto& c = ctx();
    auto r = c.expect(c.client().get("/api/v3/user/keys"));
    std::string human;
    for (const auto& k : r) {
      std::string key = k["key"].get<std::string>();
      if (key.size() > 60) key = key.substr(0, 40) + "…" + key.substr(key.size() - 12);
      if (!human.empty()) human += "\n";
      human += std::to_string(k["id"].get<uint64_t>()) + "\t" + k["title"].get<std::string>() +
               "\t" + key;
    }
    if (human.empty()) human = "no SSH keys (your identity key works over SSH without one)";
    c.print(r, human);
  });

  auto* rm = cmd->add_subcommand("remove", "Remove one of your SSH keys");
  rm->add_option("id", a->id, "The key's id (guts ssh-key list)")->required();
  rm->callback([ctx, a] {
    auto& c = ctx();
    c.expect(c.client().del("/api/v3/user/keys/" + a->id), {204});
    c.print(json{{"removed", a->id}}, "removed SSH key " + a->id);
  });
}

}  // namespace guts::cli
