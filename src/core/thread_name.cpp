#include "core/thread_name.h"

#include <pthread.h>

#include <cstring>

namespace guts {

void set_thread_name(const char* name) {
  char cut[16] = {};
  std::strncpy(cut, name, sizeof cut - 1);
  pthread_setname_np(pthread_self(), cut);  // best effort: a name is only a label
}

}  // namespace guts
