#!/usr/bin/env python3
"""Compares a migrated repository with its source through their REST APIs (GitHub's shape).

usage: compare.py SOURCE_API OWNER/REPO TARGET_API OWNER/REPO
Checks labels, milestones, every issue and pull request number (title, state, labels,
milestone, comments, review comments, origin line), releases and asset bytes. Numbers absent
from the source must be closed "Missing in source" issues on the target. Exits 1 with the
differences.
"""
import json
import sys
import urllib.error
import urllib.request

src_api, src_repo, dst_api, dst_repo = sys.argv[1:5]
errors = []


def get(base, path, accept="application/json", raw=False):
    req = urllib.request.Request(base + path, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            data = r.read()
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise
    return data if raw else json.loads(data)


def lst(base, path):
    out, page = [], 1
    sep = "&" if "?" in path else "?"
    while True:
        r = get(base, f"{path}{sep}per_page=100&page={page}")
        out += r
        if len(r) < 100:
            return out
        page += 1


def check(cond, what):
    if not cond:
        errors.append(what)


S = f"/repos/{src_repo}"
T = f"/repos/{dst_repo}"
lab = lambda base, p: sorted((l["name"], l["color"]) for l in lst(base, p + "/labels"))
check(lab(src_api, S) == lab(dst_api, T), f"labels: {lab(src_api, S)} != {lab(dst_api, T)}")
ms = lambda base, p: sorted((m["title"], m["state"]) for m in lst(base, p + "/milestones?state=all"))
check(ms(src_api, S) == ms(dst_api, T), f"milestones: {ms(src_api, S)} != {ms(dst_api, T)}")

src_items = {i["number"]: i for i in lst(src_api, S + "/issues?state=all")}
dst_items = {i["number"]: i for i in lst(dst_api, T + "/issues?state=all")}
for n in range(1, max(src_items) + 1):
    d = dst_items.get(n)
    if d is None:
        errors.append(f"#{n}: missing on the target")
        continue
    s = src_items.get(n)
    if s is None:
        check(d["title"] == f"Missing in source: #{n}" and d["state"] == "closed",
              f"#{n}: a number missing in the source should be a closed placeholder: {d['title']}")
        continue
    for key in ("title", "state"):
        check(s[key] == d[key], f"#{n} {key}: {s[key]!r} != {d[key]!r}")
    check(("pull_request" in s) == ("pull_request" in d), f"#{n}: pull request or issue differ")
    check(sorted(l["name"] for l in s["labels"]) == sorted(l["name"] for l in d["labels"]),
          f"#{n} labels differ")
    mt = lambda x: x["milestone"]["title"] if x.get("milestone") else None
    check(mt(s) == mt(d), f"#{n} milestone: {mt(s)} != {mt(d)}")
    body = d.get("body") or ""
    check(body.startswith("> Migrated from " + s["html_url"] + " "),
          f"#{n}: no origin line naming {s['html_url']}: {body[:120]!r}")
    check(f"@{s['user']['login']} " in body.split("\n")[0], f"#{n}: origin line lacks the author")
    sc = get(src_api, f"{S}/issues/{n}/comments")
    dc = get(dst_api, f"{T}/issues/{n}/comments")
    check([c["body"] for c in sc] == [c["body"].split("\n\n", 1)[1] for c in dc],
          f"#{n} comments: {[c['body'] for c in sc]} != {[c['body'] for c in dc]}")
    check(all(c["body"].startswith("> Migrated from " + x["html_url"]) for c, x in zip(dc, sc)),
          f"#{n}: comment origin lines")
    if "pull_request" in s:
        sr = get(src_api, f"{S}/pulls/{n}/comments")
        dr = get(dst_api, f"{T}/pulls/{n}/comments")
        check([(c["path"], c["body"]) for c in sr] ==
              [(c["path"], c["body"].split("\n\n", 1)[1]) for c in dr],
              f"#{n} review comments: {len(sr)} != {len(dr)}")
        check([bool(c.get("in_reply_to_id")) for c in sr] ==
              [bool(c.get("in_reply_to_id")) for c in dr], f"#{n}: review replies differ")
check(len(dst_items) == max(src_items), f"target has {len(dst_items)} items, expected {max(src_items)}")

src_rel = {r["tag_name"]: r for r in lst(src_api, S + "/releases")}
dst_rel = {r["tag_name"]: r for r in lst(dst_api, T + "/releases")}
check(sorted(src_rel) == sorted(dst_rel), f"releases: {sorted(src_rel)} != {sorted(dst_rel)}")
for tag, r in src_rel.items():
    d = dst_rel.get(tag)
    if not d:
        continue
    check(r["name"] == d["name"], f"release {tag} name")
    sa = {a["name"]: a for a in r["assets"]}
    da = {a["name"]: a for a in d["assets"]}
    check(sorted(sa) == sorted(da), f"release {tag} assets: {sorted(sa)} != {sorted(da)}")
    for name in sa:
        if name in da:
            sb = get(src_api, f"{S}/releases/assets/{sa[name]['id']}", "application/octet-stream", True)
            db = get(dst_api, f"{T}/releases/assets/{da[name]['id']}", "application/octet-stream", True)
            check(sb == db, f"release {tag} asset {name}: bytes differ")

if errors:
    print("compare: " + "\ncompare: ".join(errors))
    sys.exit(1)
print(f"compare: {dst_repo} matches {src_repo}: {len(src_items)} items, {len(src_rel)} releases")
