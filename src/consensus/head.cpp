#include "consensus/head.h"

#include "codec/codec.h"
#include "crypto/ed25519.h"

namespace guts::consensus {

Bytes encode_head(const FinalityHead& head) {
  codec::Writer w(head.certificate.size() + 16);
  w.u8(kHead).u64be(head.height).bytes(head.certificate);
  return w.take();
}

View head_view(ByteView body) {
  return head_round(body).view;
}

Round head_round(ByteView body) {
  codec::Reader r(body);
  r.u64be();
  auto cert_bytes = r.bytes_view(kMaxCertificateBytes, "certificate");
  r.finish();
  return decode_certificate(cert_bytes).round();
}

FinalityHead decode_head(ByteView body) {
  codec::Reader r(body);
  FinalityHead h;
  h.height = r.u64be();
  auto cert_bytes = r.bytes_view(kMaxCertificateBytes, "certificate");
  r.finish();
  auto cert = decode_certificate(cert_bytes);
  h.epoch = cert.round().epoch;
  h.view = cert.view();
  h.block = cert.proposal.payload;
  h.certificate.assign(cert_bytes.begin(), cert_bytes.end());
  return h;
}

std::optional<FinalityHead> verify_head(ByteView body, std::string_view ns,
                                        const std::vector<crypto::PublicKey>& validators) {
  FinalityHead h = decode_head(body);
  auto cert = decode_certificate(h.certificate);
  if (cert.kind != Kind::kFinalize) return std::nullopt;
  VerifyFn verify = [](const crypto::PublicKey& pk, ByteView msg, const crypto::Signature& sig) {
    return crypto::verify_raw(pk, msg, sig);
  };
  if (!verify_certificate(verify, ns, validators, cert)) return std::nullopt;
  return h;
}

}  // namespace guts::consensus
