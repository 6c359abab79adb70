// Names the calling thread (as `top -H`, `perf report --sort comm` and /proc/<pid>/task/*/comm
// show it): the node runs a dozen long-lived threads, and a profile or a busy core is read by
// their names. At most 15 characters are kept (the kernel's limit).
#pragma once

namespace guts {

void set_thread_name(const char* name);

}  // namespace guts
