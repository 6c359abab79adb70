// guts release create|list|view|download|delete|upload (docs/releases.md): the routes of
// api/release_routes.cpp. Releases are named by their tag, as with `gh release`.
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "core/bytes.h"
#include "core/status.h"
#include "crypto/hash.h"

namespace guts::cli {

namespace {

namespace fs = std::filesystem;

std::string url_encode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(Code::kNotFound, "cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string sha256_hex(std::string_view data) {
  auto d = crypto::sha256(as_bytes(data));
  return hex_encode(ByteView(d.data(), d.size()));
}

std::string releases_path(const std::string& repo) {
  return "/api/v3/repos/" + repo + "/releases";
}

json release_by_tag(Context& c, const std::string& repo, const std::string& tag) {
  return c.expect(c.client().get(releases_path(repo) + "/tags/" + url_encode(tag)));
}

// Uploads one file as an asset of `release` (its bytes in one request body).
json upload(Context& c, const std::string& repo, const json& release, const fs::path& file,
            const std::string& label) {
  std::string data = read_file(file);
  std::string path = "/api/uploads/repos/" + repo + "/releases/" +
                     std::to_string(release["id"].get<uint64_t>()) +
                     "/assets?name=" + url_encode(file.filename().string());
  if (!label.empty()) path += "&label=" + url_encode(label);
  c.client().set_timeout(std::chrono::milliseconds(0));
  return c.expect(c.client().post(path, data, "application/octet-stream"), {201});
}

std::string describe(const json& r) {
  std::string s = r["tag_name"].get<std::string>();
  if (r["name"].is_string() && !r["name"].get<std::string>().empty())
    s += "  " + r["name"].get<std::string>();
  if (r["draft"].get<bool>()) s += "  (draft)";
  if (r["prerelease"].get<bool>()) s += "  (prerelease)";
  return s;
}

}  // namespace

void add_release_commands(CLI::App& app, ContextFn ctx) {
  auto* rel = app.add_subcommand("release", "Releases of a repository (OWNER/REPO)");
  rel->require_subcommand(1);

  struct Args {
    std::string repo, tag, title, notes, notes_file, target, label, pattern, dir = ".";
    bool draft = false, prerelease = false;
    std::vector<std::string> files;
  };
  auto a = std::make_shared<Args>();

  auto* create = rel->add_subcommand("create", "Create a release (and upload files as assets)");
  create->add_option("repo", a->repo, "OWNER/REPO")->required();
  create->add_option("tag", a->tag, "Tag name (created at --target when it does not exist)")
      ->required();
  create->add_option("files", a->files, "Files to upload as assets");
  create->add_option("--title", a->title, "Release title");
  create->add_option("--notes", a->notes, "Release notes (Markdown)");
  create->add_option("--notes-file", a->notes_file, "Read the release notes from a file");
  create->add_option("--target", a->target, "Branch the tag is created at (default branch)");
  create->add_flag("--draft", a->draft, "Save as a draft (visible to writers only)");
  create->add_flag("--prerelease", a->prerelease, "Mark as a prerelease");
  create->callback([ctx, a] {
    auto& c = ctx();
    json body{{"tag_name", a->tag}, {"draft", a->draft}, {"prerelease", a->prerelease}};
    if (!a->title.empty()) body["name"] = a->title;
    if (!a->notes_file.empty())
      body["body"] = read_file(a->notes_file);
    else if (!a->notes.empty())
      body["body"] = a->notes;
    if (!a->target.empty()) body["target_commitish"] = a->target;
    auto r = c.expect(c.client().post(releases_path(a->repo), body.dump()), {201});
    for (const auto& f : a->files) r["assets"].push_back(upload(c, a->repo, r, f, ""));
    c.print(r, "Created release " + describe(r) + " (id " +
                   std::to_string(r["id"].get<uint64_t>()) + ")" +
                   (a->files.empty() ? "" : ", " + std::to_string(a->files.size()) + " asset(s)"));
  });

  auto* list = rel->add_subcommand("list", "List releases, newest first");
  list->add_option("repo", a->repo, "OWNER/REPO")->required();
  list->callback([ctx, a] {
    auto& c = ctx();
    auto r = c.expect(c.client().get(releases_path(a->repo) + "?per_page=100"));
    std::string human;
    for (const auto& x : r) human += describe(x) + "\n";
    c.print(r, human.empty() ? "No releases." : human.substr(0, human.size() - 1));
  });

  auto* view = rel->add_subcommand("view", "Show a release and its assets");
  view->add_option("repo", a->repo, "OWNER/REPO")->required();
  view->add_option("tag", a->tag, "Tag name")->required();
  view->callback([ctx, a] {
    auto& c = ctx();
    auto r = release_by_tag(c, a->repo, a->tag);
    std::string human = describe(r) + "\n";
    if (r["published_at"].is_string())
      human += "published " + r["published_at"].get<std::string>() + "\n";
    if (r["body"].is_string() && !r["body"].get<std::string>().empty())
      human += "\n" + r["body"].get<std::string>() + "\n";
    for (const auto& x : r["assets"])
      human += "asset " + x["name"].get<std::string>() + "  " +
               std::to_string(x["size"].get<uint64_t>()) + " bytes  " +
               x["digest"].get<std::string>() + "\n";
    c.print(r, human.substr(0, human.size() - 1));
  });

  auto* download = rel->add_subcommand("download", "Download a release's assets (SHA-256 checked)");
  download->add_option("repo", a->repo, "OWNER/REPO")->required();
  download->add_option("tag", a->tag, "Tag name")->required();
  download->add_option("--pattern", a->pattern, "Only the asset of this name");
  download->add_option("--dir", a->dir, "Directory to write into")->capture_default_str();
  download->callback([ctx, a] {
    auto& c = ctx();
    auto r = release_by_tag(c, a->repo, a->tag);
    fs::create_directories(a->dir);
    json done = json::array();
    std::string human;
    c.client().set_timeout(std::chrono::milliseconds(0));
    for (const auto& x : r["assets"]) {
      const std::string name = x["name"].get<std::string>();
      if (!a->pattern.empty() && name != a->pattern) continue;
      c.client().set_header("Accept", "application/octet-stream");
      auto res = c.client().get("/api/v3/repos/" + a->repo + "/releases/assets/" +
                                std::to_string(x["id"].get<uint64_t>()));
      c.client().set_header("Accept", "application/json");
      if (res.status != 200) c.expect(res);
      const std::string want = x["digest"].get<std::string>();
      if ("sha256:" + sha256_hex(res.body) != want)
        throw Error(Code::kInternal, name + ": downloaded bytes do not match " + want);
      fs::path out = fs::path(a->dir) / fs::path(name).filename();
      std::ofstream f(out, std::ios::binary);
      f.write(res.body.data(), static_cast<std::streamsize>(res.body.size()));
      if (!f) throw Error(Code::kInternal, "cannot write " + out.string());
      done.push_back({{"name", name}, {"path", out.string()}, {"size", res.body.size()}});
      human += "Downloaded " + out.string() + " (" + std::to_string(res.body.size()) + " bytes)\n";
    }
    if (done.empty()) throw Error(Code::kNotFound, "no matching asset in release " + a->tag);
    c.print(done, human.substr(0, human.size() - 1));
  });

  auto* up = rel->add_subcommand("upload", "Upload files as assets of a release");
  up->add_option("repo", a->repo, "OWNER/REPO")->required();
  up->add_option("tag", a->tag, "Tag name")->required();
  up->add_option("files", a->files, "Files")->required();
  up->add_option("--label", a->label, "Label of the asset(s)");
  up->callback([ctx, a] {
    auto& c = ctx();
    auto r = release_by_tag(c, a->repo, a->tag);
    json done = json::array();
    std::string human;
    for (const auto& f : a->files) {
      auto asset = upload(c, a->repo, r, f, a->label);
      human += "Uploaded " + asset["name"].get<std::string>() + " (" +
               std::to_string(asset["size"].get<uint64_t>()) + " bytes)\n";
      done.push_back(asset);
    }
    c.print(done, human.substr(0, human.size() - 1));
  });

  auto* del = rel->add_subcommand("delete", "Delete a release (the tag stays)");
  del->add_option("repo", a->repo, "OWNER/REPO")->required();
  del->add_option("tag", a->tag, "Tag name")->required();
  del->callback([ctx, a] {
    auto& c = ctx();
    auto r = release_by_tag(c, a->repo, a->tag);
    c.expect(c.client().del(releases_path(a->repo) + "/" + std::to_string(r["id"].get<uint64_t>())),
             {204});
    c.print(json{{"deleted", r["id"]}}, "Deleted release " + a->tag);
  });
}

}  // namespace guts::cli
