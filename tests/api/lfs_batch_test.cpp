// Git LFS batch requests (api/lfs_batch.h): what is accepted, what each malformed request
// answers (400/409/413/422) and per-object errors.
#include "api/lfs_batch.h"

#include <gtest/gtest.h>

#include "core/status.h"

using namespace guts;
using namespace guts::api;

namespace {

const std::string kOid(64, 'a');

Code code_of(const std::string& body) {
  try {
    parse_lfs_batch(body);
  } catch (const Error& e) {
    return e.code();
  }
  return Code::kOk;
}

}  // namespace

TEST(LfsBatch, ParsesTheSpecsExample) {
  auto b = parse_lfs_batch(R"({"operation":"upload","transfers":["lfs-standalone-file","basic"],
    "ref":{"name":"refs/heads/main"},"objects":[{"oid":")" +
                           kOid + R"(","size":123}],
    "hash_algo":"sha256"})");
  EXPECT_EQ(b.operation, "upload");
  EXPECT_TRUE(b.basic);
  EXPECT_EQ(b.ref, "refs/heads/main");
  ASSERT_EQ(b.objects.size(), 1u);
  EXPECT_EQ(b.objects[0].oid, kOid);
  EXPECT_EQ(b.objects[0].size, 123u);
  EXPECT_TRUE(b.objects[0].error.empty());
  EXPECT_EQ(lfs_batch_operation(R"({"operation":"download"})"), "download");
  EXPECT_EQ(lfs_batch_operation("not json"), "");
}

TEST(LfsBatch, WholeRequestErrors) {
  EXPECT_EQ(code_of("{"), Code::kMalformed);
  EXPECT_EQ(code_of("[]"), Code::kMalformed);
  EXPECT_EQ(code_of(R"({"objects":[]})"), Code::kMalformed);  // no operation
  EXPECT_EQ(code_of(R"({"operation":"delete","objects":[{"oid":"x","size":1}]})"),
            Code::kInvalidArgument);
  EXPECT_EQ(code_of(R"({"operation":"download","objects":[]})"), Code::kInvalidArgument);
  EXPECT_EQ(code_of(R"({"operation":"download","objects":"x"})"), Code::kMalformed);
  EXPECT_EQ(code_of(R"({"operation":"download","hash_algo":"sha512","objects":[{"oid":")" + kOid +
                    R"(","size":1}]})"),
            Code::kConflict);
  std::string many = R"({"operation":"download","objects":[)";
  for (size_t i = 0; i <= kMaxLfsBatchObjects; ++i)
    many += std::string(i ? "," : "") + R"({"oid":")" + kOid + R"(","size":1})";
  many += "]}";
  EXPECT_EQ(code_of(many), Code::kTooLarge);
  EXPECT_EQ(code_of(std::string(kMaxLfsBatchBodyBytes + 1, ' ')), Code::kMalformed);
}

TEST(LfsBatch, BadObjectsCarryTheirOwnError) {
  auto b = parse_lfs_batch(R"({"operation":"download","transfers":["tus"],"objects":[
    {"oid":"ABC","size":1},{"oid":")" +
                           kOid + R"(","size":-1},{"size":3},
    {"oid":")" + std::string(64, 'F') +
                           R"(","size":1}]})");
  EXPECT_FALSE(b.basic);
  ASSERT_EQ(b.objects.size(), 4u);
  for (const auto& o : b.objects) EXPECT_FALSE(o.error.empty()) << o.oid;
}
