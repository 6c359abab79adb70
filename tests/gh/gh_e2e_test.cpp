#include <gtest/gtest.h>
TEST(GhCli, Placeholder) {}
