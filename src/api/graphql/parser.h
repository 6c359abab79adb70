// A bounded parser for the subset of the GraphQL query language (https://spec.graphql.org,
// "Language") that GitHub's clients send: one or more operations (query / mutation, the
// anonymous `{ ... }` shorthand), variable definitions with defaults, selection sets, fields
// with aliases and arguments, fragment definitions, fragment spreads and inline fragments, and
// the @skip / @include directives. Type-system definitions and subscriptions are refused.
//
// Values are kept as JSON: a literal is its JSON value (an enum value is its name as a string),
// and a variable reference `$name` is the object {"$var": "name"} ('$' cannot start a field
// name of an object literal, so nothing else has that shape).
//
// Every input is untrusted: the document size, the nesting depth of selections and values, the
// number of selections and tokens are bounded (ParseLimits); going over a bound is a
// ParseError like any syntax error, with the line and column where it happened.
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace guts::api::graphql {

using json = nlohmann::ordered_json;

struct Location {
  size_t line = 1, column = 1;
};

struct ParseLimits {
  size_t max_bytes = 64 * 1024;  // the whole document
  size_t max_depth = 24;         // nesting of selection sets (and of literal values)
  size_t max_selections = 4000;  // fields, spreads and inline fragments in the document
  size_t max_tokens = 40000;     // lexical tokens
  size_t max_definitions = 200;  // operations + fragments
};

struct ParseError : std::runtime_error {
  ParseError(const std::string& message, Location at) : std::runtime_error(message), at(at) {}
  Location at;
};

struct Directive {
  std::string name;
  std::vector<std::pair<std::string, json>> args;
};

struct Selection {
  enum Kind { kField, kFragmentSpread, kInlineFragment };
  Kind kind = kField;
  Location loc;
  // kField: alias (empty: none), name, arguments. kFragmentSpread: name is the fragment's.
  std::string alias, name;
  std::vector<std::pair<std::string, json>> args;
  // kInlineFragment: the type condition (empty: none).
  std::string type_condition;
  std::vector<Directive> directives;
  std::vector<Selection> selections;  // kField (sub-selection) and kInlineFragment

  const std::string& response_key() const { return alias.empty() ? name : alias; }
};

struct VariableDefinition {
  std::string name;
  std::string type;  // as written, e.g. "[String!]!"
  bool non_null = false;
  bool has_default = false;
  json default_value;
};

struct Operation {
  enum Type { kQuery, kMutation };
  Type type = kQuery;
  std::string name;  // may be empty
  Location loc;
  std::vector<VariableDefinition> variables;
  std::vector<Selection> selections;
};

struct Fragment {
  std::string name, type_condition;
  Location loc;
  std::vector<Selection> selections;
};

struct Document {
  std::vector<Operation> operations;
  std::map<std::string, Fragment> fragments;
};

// Parses a whole document. Throws ParseError.
Document parse(std::string_view text, const ParseLimits& limits = {});

}  // namespace guts::api::graphql
