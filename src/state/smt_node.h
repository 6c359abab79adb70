// A node of the authenticated trees in memory (defined in state/smt.cpp): immutable once built,
// shared by every version that holds it, freed with the last one (an atomic count: versions are
// read on several threads). A pointer to a root holds that whole tree.
#pragma once

#include <boost/smart_ptr/intrusive_ptr.hpp>

namespace guts::state {

struct SmtTreeNode;
void intrusive_ptr_add_ref(const SmtTreeNode* n);
void intrusive_ptr_release(const SmtTreeNode* n);
using SmtNodePtr = boost::intrusive_ptr<const SmtTreeNode>;

}  // namespace guts::state
