#include <filesystem>

#include "cli/commands.h"
#include "core/fs.h"
#include "core/status.h"
#include "crypto/did.h"
#include "crypto/keyfile.h"

namespace guts::cli {

void add_identity_commands(CLI::App& app, ContextFn ctx) {
  auto* identity = app.add_subcommand("identity", "Manage your Ed25519 identity (did:key)");
  identity->require_subcommand(1);

  auto* create = identity->add_subcommand("new", "Create a new identity key");
  auto force = std::make_shared<bool>(false);
  create->add_flag("--force", *force, "Replace an existing identity (the old key is lost)");
  create->callback([ctx, force] {
    auto& c = ctx();
    if (*force) std::filesystem::remove(c.key_path());
    auto key = crypto::create_key_file(c.key_path());
    auto did = crypto::did_from_key(key.public_key());
    c.print(json{{"did", did}, {"key_file", c.key_path().string()}},
            "Created identity " + did + "\nKey file: " + c.key_path().string() + " (mode 0600)");
  });

  auto* show = identity->add_subcommand("show", "Show your identity");
  show->callback([ctx] {
    auto& c = ctx();
    auto key = c.identity();
    auto did = crypto::did_from_key(key.public_key());
    c.print(json{{"did", did},
                 {"public_key", hex_encode(key.public_key())},
                 {"key_file", c.key_path().string()}},
            did);
  });

  auto* import =
      identity->add_subcommand("import", "Import an unencrypted OpenSSH ed25519 private key");
  auto path = std::make_shared<std::string>();
  auto force_import = std::make_shared<bool>(false);
  import->add_option("path", *path, "Path of the OpenSSH private key (e.g. ~/.ssh/id_ed25519)")
      ->required();
  import->add_flag("--force", *force_import, "Replace an existing identity");
  import->callback([ctx, path, force_import] {
    auto& c = ctx();
  auto data = read_file(*path, 64 << 10);
  auto key = crypto::parse_openssh_private_key(std::string(data.begin(), data.end()));
  if (std::filesystem::exists(c.key_path()) && !*force_import)
    throw Error(Code::kConflict, "an identity already exists at " + c.key_path().string() +
                                     " (use --force to replace it)");
  crypto::write_key_file(c.key_path(), key);
  auto did = crypto::did_from_key(key.public_key());
  c.print(json{{"did", did}, {"key_file", c.key_path().string()}}, "Imported identity " + did);
});
}  // namespace guts::cli

}  // namespace guts::cli
