// guts auth web CODE: approves a browser's device-code sign-in (docs/web.md "Sign-in and
// sessions"). The approval is signed by the identity key (web/session_approval.h): it proves
// possession of the key the way `guts auth login` does, names this chain and node, and the code
// shown on the browser's page; the node then opens a session for that browser. The node needs
// an active delegation from the identity (made by `guts auth login`) to act for it.
#include <memory>

#include "cli/commands.h"

namespace guts::cli {
void add_auth_web_command(CLI::App& app, ContextFn ctx);  // declared in main.cpp too
}
#include "core/status.h"
#include "core/time.h"
#include "crypto/did.h"
#include "web/session_approval.h"

namespace guts::cli {

void add_auth_web_command(CLI::App& app, ContextFn ctx) {
  auto* auth = app.get_subcommand("auth");
  auto* web = auth->add_subcommand(
      "web", "Sign a browser in: approve the code its sign-in page shows (signed by your key)");
  auto code = std::make_shared<std::string>();
  web->add_option("code", *code, "The code on the browser's page, like BCDF-GHJK")->required();
  web->callback([ctx, code] {
    auto& c = ctx();
    auto key = c.identity();
    auto did = crypto::did_from_key(key.public_key());
    auto status = c.expect(c.client().get("/api/guts/status"));
    auto chain_id = status["chain_id"].get<std::string>();
    auto node_key = crypto::parse_did(status["node_did"].get<std::string>());
    if (!node_key) throw Error(Code::kInvalidArgument, "node reported an invalid did");
    // The code as the node stores it: upper case, a dash after four letters.
    std::string canon;
    for (char ch : *code) {
      if (ch == '-' || ch == ' ') continue;
      canon += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (canon.size() == 4) canon += '-';
    }
    uint64_t now = unix_millis();
    auto sig =
        key.sign(web::kDeviceApprovalDomain,
                 web::device_approval_payload(chain_id, *node_key, key.public_key(), now, canon));
    auto r = c.expect(c.client().post(
        "/api/guts/web/device",
        json{{"did", did}, {"code", canon}, {"timestamp_ms", now}, {"signature", hex_encode(sig)}}
            .dump()));
    std::string who = r["username"].is_string() ? r["username"].get<std::string>() : did;
    c.print(r,
            "Approved " + canon + ": the browser is signed in to " + c.node_url() + " as " + who);
  });
}

}  // namespace guts::cli
