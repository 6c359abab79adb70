#include "web/issue_query.h"

#include <algorithm>

namespace guts::web {

namespace {

constexpr size_t kMaxValue = 256;

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// One term: `key:value`, `key:"quoted value"`, `"quoted words"` or a word. Advances `i`.
struct Term {
  std::string key;  // empty: a free word
  std::string value;
};

std::string read_value(std::string_view s, size_t& i) {
  std::string v;
  if (i < s.size() && s[i] == '"') {
    ++i;
    while (i < s.size() && s[i] != '"') v.push_back(s[i++]);
    if (i < s.size()) ++i;  // closing quote
  } else {
    while (i < s.size() && !space(s[i])) v.push_back(s[i++]);
  }
  if (v.size() > kMaxValue) v.resize(kMaxValue);
  return v;
}

Term read_term(std::string_view s, size_t& i) {
  Term t;
  size_t start = i;
  while (i < s.size() && !space(s[i]) && s[i] != ':' && s[i] != '"') ++i;
  if (i < s.size() && s[i] == ':' && i > start) {
    t.key.assign(s.substr(start, i - start));
    std::transform(t.key.begin(), t.key.end(), t.key.begin(), lower);
    ++i;
    t.value = read_value(s, i);
    return t;
  }
  i = start;
  t.value = read_value(s, i);
  return t;
}

void quoted(std::string& out, std::string_view key, std::string_view v) {
  if (!out.empty()) out.push_back(' ');
  out.append(key);
  bool needs = v.empty() || std::any_of(v.begin(), v.end(),
                                        [](char c) { return space(c) || c == ':' || c == '"'; });
  if (!needs) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (char c : v)
    if (c != '"') out.push_back(c);
  out.push_back('"');
}

}  // namespace

bool IssueQuery::filtered() const {
  return !labels.empty() || author || assignee || milestone || no_label || no_assignee ||
         no_milestone || !words.empty() || state == "merged";
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool icontains(std::string_view h, std::string_view n) {
  if (n.empty()) return true;
  if (n.size() > h.size()) return false;
  for (size_t i = 0; i + n.size() <= h.size(); ++i)
    if (iequals(h.substr(i, n.size()), n)) return true;
  return false;
}

IssueQuery parse_issue_query(std::string_view s) {
  IssueQuery q;
  if (s.size() > kMaxQueryBytes) s = s.substr(0, kMaxQueryBytes);
  size_t i = 0, terms = 0;
  while (terms < kMaxQueryTerms) {
    while (i < s.size() && space(s[i])) ++i;
    if (i >= s.size()) break;
    size_t before = i;
    Term t = read_term(s, i);
    if (i == before) ++i;  // never stuck
    // The state does not count: a formatted query (its state first) parses back whole.
    if (t.key != "is" && t.key != "state") ++terms;
    // Values that would not survive quoting (a '"' or nothing) are dropped.
    if (t.value.empty() || t.value.find('"') != std::string::npos) continue;
    const std::string& v = t.value;
    if (t.key == "is" || t.key == "state") {
      std::string lv = v;
      std::transform(lv.begin(), lv.end(), lv.begin(), lower);
      if (lv == "open" || lv == "closed" || lv == "merged" || lv == "all") q.state = lv;
      // is:issue, is:pr and others: ignored
    } else if (t.key == "label") {
      if (std::none_of(q.labels.begin(), q.labels.end(),
                       [&](const std::string& l) { return iequals(l, v); }))
        q.labels.push_back(v);
    } else if (t.key == "author") {
      q.author = v;
    } else if (t.key == "assignee") {
      q.assignee = v;
    } else if (t.key == "milestone") {
      q.milestone = v;
    } else if (t.key == "no") {
      std::string lv = v;
      std::transform(lv.begin(), lv.end(), lv.begin(), lower);
      if (lv == "label") q.no_label = true;
      if (lv == "assignee") q.no_assignee = true;
      if (lv == "milestone") q.no_milestone = true;
    } else if (t.key.empty()) {
      q.words.push_back(v);
    } else {
      std::string word = t.key + ":" + v;  // an unknown qualifier: a word, bounded like one
      if (word.size() > kMaxValue) word.resize(kMaxValue);
      q.words.push_back(std::move(word));
    }
  }
  return q;
}

std::string format_issue_query(const IssueQuery& q) {
  std::string out = "is:" + q.state;
  for (const auto& l : q.labels) quoted(out, "label:", l);
  if (q.author) quoted(out, "author:", *q.author);
  if (q.assignee) quoted(out, "assignee:", *q.assignee);
  if (q.milestone) quoted(out, "milestone:", *q.milestone);
  if (q.no_label) out += " no:label";
  if (q.no_assignee) out += " no:assignee";
  if (q.no_milestone) out += " no:milestone";
  for (const auto& w : q.words) quoted(out, "", w);
  return out;
}

bool operator==(const IssueQuery& a, const IssueQuery& b) {
  return a.state == b.state && a.labels == b.labels && a.author == b.author &&
         a.assignee == b.assignee && a.milestone == b.milestone && a.no_label == b.no_label &&
         a.no_assignee == b.no_assignee && a.no_milestone == b.no_milestone && a.words == b.words;
}

}  // namespace guts::web
