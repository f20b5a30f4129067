// The keys aggregator_seen_ids holds identities under: a canonical uuid is
// its own key, any other text the first 128 bits of its SHA-256, the same
// that migration 0022 computes in SQL for the identities it moves
// (encode(substr(sha256(convert_to(identity, 'UTF8')), 1, 16), 'hex')::uuid;
// the expected keys below are that expression's values).

#include "seen_ids.hpp"

#include <catch2/catch.hpp>
#include <string>

using millrace::aggregate::tables::is_lower_uuid;
using millrace::aggregate::tables::seen_key;

TEST_CASE("a canonical lower-case uuid is its own seen key", "[aggregate][seen_ids]") {
  const std::string id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  CHECK(is_lower_uuid(id));
  CHECK(seen_key(id) == id);
}

TEST_CASE("any other identity's seen key is its SHA-256 cut to a uuid", "[aggregate][seen_ids]") {
  CHECK(seen_key("order-1") == "0bafe221-56d2-698c-143b-86040446d366");
  // UTF-8 bytes, as PostgreSQL's convert_to(identity, 'UTF8') gives them.
  CHECK(seen_key("Gr\xc3\xb6\xc3\x9f"
                 "e") == "aedc3f80-989a-6546-9627-05852b2f4a48");
  // Upper case is another text, so another identity: hashed, not read as
  // the uuid it spells.
  CHECK_FALSE(is_lower_uuid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
  CHECK(seen_key("0F8FAD5B-D9CB-469F-A165-70867728950E") == "eab71d85-f464-ccc6-dfe4-29c04f572c15");
}

TEST_CASE("only a uuid's exact canonical shape is taken as a uuid", "[aggregate][seen_ids]") {
  CHECK_FALSE(is_lower_uuid(""));
  CHECK_FALSE(is_lower_uuid("0f8fad5bd9cb469fa16570867728950e"));       // no dashes
  CHECK_FALSE(is_lower_uuid("0f8fad5b-d9cb-469f-a165-70867728950e0"));  // too long
  CHECK_FALSE(is_lower_uuid("0f8fad5b-d9cb-469f-a165_70867728950e"));   // a dash elsewhere
  CHECK_FALSE(is_lower_uuid("0f8fad5b-d9cb-469f-a165-70867728950g"));   // not hex
  CHECK(seen_key("0f8fad5bd9cb469fa16570867728950e").size() == 36);
  CHECK(seen_key("0f8fad5bd9cb469fa16570867728950e") != "0f8fad5b-d9cb-469f-a165-70867728950e");
}
