#include "millrace/core/secrets.hpp"

#include <catch2/catch.hpp>

using millrace::core::mask_property_list;
using millrace::core::mask_secrets;
using millrace::core::names_secret;
using millrace::core::scrub;

TEST_CASE("a key names a secret by the words in it, without case", "[secrets]") {
  for (const char* key :
       {"password", "sasl.password", "sslpassword", "ssl.key.pem", "sslkey", "ssl.key.password",
        "sasl.oauthbearer.client.secret", "MILLRACE_ADMIN_TOKEN", "admin-token", "AWS_CREDENTIALS",
        "passwd", "api_key", "Secret"}) {
    CAPTURE(key);
    CHECK(names_secret(key));
  }
  for (const char* key : {"", "host", "user", "sasl.username", "linger.ms", "security.protocol",
                          "sasl.mechanism", "passfile", "brokers", "dbname"}) {
    CAPTURE(key);
    CHECK_FALSE(names_secret(key));
  }
}

TEST_CASE("mask_secrets masks conninfo values, URI passwords and secret query values",
          "[secrets]") {
  CHECK(mask_secrets("host=db password=secret dbname=m") == "host=db password=*** dbname=m");
  CHECK(mask_secrets("password=secret") == "password=***");
  CHECK(mask_secrets("host=db password = 'a \\' b' port=5432") ==
        "host=db password = *** port=5432");
  CHECK(mask_secrets("host=db PASSWORD=x") == "host=db PASSWORD=***");
  CHECK(mask_secrets("host=db sslpassword=x sslkey=/k.pem sslmode=verify-full") ==
        "host=db sslpassword=*** sslkey=*** sslmode=verify-full");
  CHECK(mask_secrets("postgresql://user:secret@db:5432/m") == "postgresql://user:***@db:5432/m");
  CHECK(mask_secrets("postgres://user:p%40ss@db/m?sslmode=disable") ==
        "postgres://user:***@db/m?sslmode=disable");
  CHECK(mask_secrets("postgresql://db/m?user=u&password=secret&sslmode=require") ==
        "postgresql://db/m?user=u&password=***&sslmode=require");
  CHECK(mask_secrets("redis://:pw@cache:6379/0") == "redis://:***@cache:6379/0");
  CHECK(mask_secrets("sasl.username=u,sasl.password=secret") ==
        "sasl.username=u,sasl.password=***");
  CHECK(mask_secrets("token=a token=b") == "token=*** token=***");
  // Nothing to hide: unchanged.
  for (const char* clean : {"", "host=db user=u dbname=m", "postgresql://user@db/m",
                            "postgresql://db:5432/m", "localhost:9092", "a=b=c", "=x", "x="}) {
    CHECK(mask_secrets(clean) == clean);
  }
}

TEST_CASE("mask_property_list masks whole values, blanks and line breaks included", "[secrets]") {
  CHECK(mask_property_list("security.protocol=SASL_SSL,sasl.username=u,sasl.password=p w") ==
        "security.protocol=SASL_SSL,sasl.username=u,sasl.password=***");
  CHECK(mask_property_list("ssl.key.pem=-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE "
                           "KEY-----,linger.ms=5") == "ssl.key.pem=***,linger.ms=5");
  // An item without '=' continues the value before it: a secret's is masked.
  CHECK(mask_property_list("sasl.password=ab,cd,linger.ms=5") ==
        "sasl.password=***,***,linger.ms=5");
  CHECK(mask_property_list("sasl.password=ab\\,cd=e,debug=cgrp,fetch") ==
        "sasl.password=***,debug=cgrp,fetch");
  CHECK(mask_property_list("cd,sasl.password=ab") == "***,sasl.password=***");
  CHECK(mask_property_list("") == "");
  CHECK(mask_property_list("linger.ms=5,,acks=all") == "linger.ms=5,,acks=all");
}

TEST_CASE("scrub removes every copy of a secret from a message", "[secrets]") {
  CHECK(scrub("bad value \"s3\" for s3", "s3") == "bad value \"***\" for ***");
  CHECK(scrub("nothing here", "s3") == "nothing here");
  CHECK(scrub("kept", "") == "kept");
  CHECK(scrub("aaaa", "aa") == "******");
}
