#include <gtest/gtest.h>

#include <vector>

#include "core/envelope.hpp"

using namespace zc::core;

namespace {

std::vector<std::uint8_t> sample_envelope(std::size_t payload)
{
    EnvelopeHeader header;
    header.type = PayloadType::bytea;
    header.key_id = 0x01020304;
    for (std::size_t i = 0; i < header.nonce.size(); ++i) header.nonce[i] = static_cast<std::uint8_t>(0xa0 + i);
    std::vector<std::uint8_t> bytes(envelope_overhead + payload, 0x55);
    write_envelope_header(header, bytes.data());
    return bytes;
}

}  // namespace

TEST(Envelope, HeaderRoundTrip)
{
    auto bytes = sample_envelope(5);
    EXPECT_EQ(bytes[0], 'Z');
    EXPECT_EQ(bytes[3], 0x01);
    EXPECT_EQ(bytes[5], 0x01);
    EXPECT_EQ(bytes[8], 0x04);
    ParsedEnvelope parsed = parse_envelope(bytes.data(), bytes.size());
    ASSERT_EQ(parsed.problem, EnvelopeProblem::none);
    EXPECT_EQ(parsed.header.type, PayloadType::bytea);
    EXPECT_EQ(parsed.header.key_id, 0x01020304u);
    EXPECT_EQ(parsed.header.nonce[11], 0xab);
    EXPECT_EQ(parsed.ciphertext_size, 5u);
    EXPECT_EQ(parsed.ciphertext, bytes.data() + envelope_header_size);
    EXPECT_EQ(parsed.tag, bytes.data() + bytes.size() - envelope_tag_size);
}

TEST(Envelope, EmptyPayloadIsValid)
{
    auto bytes = sample_envelope(0);
    EXPECT_EQ(bytes.size(), 37u);
    EXPECT_TRUE(looks_like_envelope(bytes.data(), bytes.size()));
}

TEST(Envelope, RejectsEveryTruncation)
{
    auto bytes = sample_envelope(0);
    for (std::size_t size = 0; size < bytes.size(); ++size)
        EXPECT_EQ(parse_envelope(bytes.data(), size).problem, EnvelopeProblem::too_short) << size;
    EXPECT_EQ(parse_envelope(nullptr, 100).problem, EnvelopeProblem::too_short);
}

TEST(Envelope, RejectsBadMagicVersionType)
{
    auto bytes = sample_envelope(3);
    auto bad = bytes;
    bad[1] = 'X';
    EXPECT_EQ(parse_envelope(bad.data(), bad.size()).problem, EnvelopeProblem::bad_magic);
    bad = bytes;
    bad[3] = 0x02;
    EXPECT_EQ(parse_envelope(bad.data(), bad.size()).problem, EnvelopeProblem::bad_version);
    bad = bytes;
    bad[4] = 'x';
    EXPECT_EQ(parse_envelope(bad.data(), bad.size()).problem, EnvelopeProblem::bad_type);
    EXPECT_STRNE(describe(EnvelopeProblem::bad_type), describe(EnvelopeProblem::bad_magic));
}

TEST(Envelope, PgpMessageIsNotAnEnvelope)
{
    // pgcrypto's pgp_sym_encrypt output starts with an OpenPGP packet tag (0xc3).
    std::vector<std::uint8_t> pgp(60, 0);
    pgp[0] = 0xc3;
    pgp[1] = 0x0d;
    EXPECT_FALSE(looks_like_envelope(pgp.data(), pgp.size()));
}

TEST(Envelope, AadBindsHeaderAndContext)
{
    auto bytes = sample_envelope(1);
    std::string none = envelope_aad(bytes.data(), std::nullopt);
    std::string empty = envelope_aad(bytes.data(), std::string_view(""));
    std::string ctx = envelope_aad(bytes.data(), std::string_view("t.c:1"));
    EXPECT_EQ(none.size(), envelope_header_size + 1);
    EXPECT_NE(none, empty);  // NULL context and '' differ
    EXPECT_EQ(ctx.substr(envelope_header_size), std::string("\x01t.c:1", 6));
    EXPECT_EQ(none.substr(0, envelope_header_size),
              std::string(reinterpret_cast<const char*>(bytes.data()), envelope_header_size));
}

TEST(Envelope, WrappedKeyAadDiffersPerRow)
{
    EXPECT_NE(wrapped_key_aad(1, "default", 1), wrapped_key_aad(2, "default", 1));
    EXPECT_NE(wrapped_key_aad(1, "default", 1), wrapped_key_aad(1, "default", 2));
    EXPECT_NE(wrapped_key_aad(1, "default", 1), wrapped_key_aad(1, "other", 1));
}

TEST(RootKey, ParsesHexWithOptionalNewline)
{
    std::array<std::uint8_t, data_key_size> key{};
    std::string hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
    EXPECT_EQ(parse_root_key(hex, key), "");
    EXPECT_EQ(key[0], 0x00);
    EXPECT_EQ(key[1], 0x11);
    EXPECT_EQ(key[31], 0xff);
    EXPECT_EQ(parse_root_key(hex + "\n", key), "");
    EXPECT_EQ(parse_root_key(hex + "\r\n", key), "");
}

TEST(RootKey, RejectsWrongLengthAndNonHex)
{
    std::array<std::uint8_t, data_key_size> key{};
    std::string hex(64, 'a');
    EXPECT_NE(parse_root_key(hex.substr(1), key), "");
    EXPECT_NE(parse_root_key(hex + "a", key), "");
    EXPECT_NE(parse_root_key(hex + "\n\n", key), "");
    EXPECT_NE(parse_root_key("", key), "");
    std::string bad = hex;
    bad[10] = 'g';
    std::string reason = parse_root_key(bad, key);
    EXPECT_NE(reason, "");
    EXPECT_EQ(reason.find(bad), std::string::npos);  // never quotes the content
    EXPECT_EQ(key[0], 0);                            // no partial key left behind
}

TEST(RootKey, FileModeRule)
{
    EXPECT_EQ(check_key_file_mode(true, 100, 100, 0600), "");
    EXPECT_EQ(check_key_file_mode(true, 100, 100, 0400), "");
    EXPECT_NE(check_key_file_mode(true, 100, 100, 0640), "");
    EXPECT_NE(check_key_file_mode(true, 100, 100, 0604), "");
    EXPECT_NE(check_key_file_mode(true, 0, 100, 0600), "");
    EXPECT_NE(check_key_file_mode(false, 100, 100, 0600), "");
    EXPECT_NE(check_key_file_mode(true, 100, 100, 0644).find("0644"), std::string::npos);
}

TEST(KeyName, Rules)
{
    EXPECT_EQ(check_key_name("default"), "");
    EXPECT_EQ(check_key_name("x\"; DROP TABLE y; --"), "");  // quoting is the SQL layer's job
    EXPECT_NE(check_key_name(""), "");
    EXPECT_NE(check_key_name(std::string(64, 'k')), "");
    EXPECT_NE(check_key_name("a\nb"), "");
}
