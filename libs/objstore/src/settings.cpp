// The settings of objstore, each declared once (core::declare): --help,
// --check-config, the SIGHUP marks and docs/configuration.md are made from
// these declarations, in this order.

#include "millrace/core/options.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/objstore/options.hpp"

namespace millrace::objstore {

void register_options(core::OptionSet& o, StoreOptions& c) {
  core::declare(
      o, &c.s3_endpoint,
      {.flag = "s3-endpoint",
       .env = "MILLRACE_S3_ENDPOINT",
       .help = "S3: the store's endpoint, http(s)://host[:port], for an S3-compatible store "
               "(MinIO, Ceph, SeaweedFS, R2, ...); empty: AWS's endpoint for the region"});
  core::declare(o, &c.s3_region,
                {.flag = "s3-region",
                 .env = "MILLRACE_S3_REGION",
                 .help = "S3: the region requests are signed for (else AWS_REGION, "
                         "AWS_DEFAULT_REGION, us-east-1)",
                 .env_fallbacks = {{.env = "AWS_REGION"}, {.env = "AWS_DEFAULT_REGION"}}});
  core::declare(o, &c.s3_addressing, kS3AddressingNames,
                {.flag = "s3-addressing",
                 .env = "MILLRACE_S3_ADDRESSING",
                 .help = "S3: path (endpoint/bucket/key), virtual (bucket.endpoint/key) or auto "
                         "(virtual on AWS, path with --s3-endpoint)"});
  core::declare(o, &c.aws_access_key_id,
                {.flag = "aws-access-key-id",
                 .env = "AWS_ACCESS_KEY_ID",
                 .help = "S3: the access key id (else from the shared credentials file)",
                 .shown = core::Shown::kSecret});
  core::declare(o, &c.aws_secret_access_key,
                {.flag = "aws-secret-access-key",
                 .env = "AWS_SECRET_ACCESS_KEY",
                 .help = "S3: the secret access key",
                 .shown = core::Shown::kSecret});
  core::declare(o, &c.aws_session_token,
                {.flag = "aws-session-token",
                 .env = "AWS_SESSION_TOKEN",
                 .help = "S3: a session token, with temporary credentials",
                 .shown = core::Shown::kSecret});
  core::declare(o, &c.aws_credentials_file,
                {.flag = "aws-credentials-file",
                 .env = "AWS_SHARED_CREDENTIALS_FILE",
                 .help = "S3: AWS's shared credentials file, read when AWS_ACCESS_KEY_ID is not "
                         "set (default: ~/.aws/credentials)"});
  core::declare(o, &c.aws_profile,
                {.flag = "aws-profile",
                 .env = "AWS_PROFILE",
                 .help = "S3: the profile of the shared credentials file"});
  core::declare(o, &c.azure_sas_file,
                {.flag = "azure-sas-file",
                 .env = "MILLRACE_AZURE_SAS_FILE",
                 .help = "Azure Blob: a file holding a SAS token for the container (read, add, "
                         "create, write, delete and list)"});
  core::declare(o, &c.azure_key_file,
                {.flag = "azure-key-file",
                 .env = "MILLRACE_AZURE_KEY_FILE",
                 .help = "Azure Blob: a file holding the storage account's shared key (base64), "
                         "used when no SAS token file is set"});
  core::declare(
      o, &c.ca_file,
      {.flag = "archive-ca-file",
       .env = "MILLRACE_ARCHIVE_CA_FILE",
       .help =
           "CA certificates (PEM) an https store endpoint is verified with; empty: the system's"});
  core::declare(o, &c.part_mb,
                {.flag = "archive-part-mb",
                 .env = "MILLRACE_ARCHIVE_PART_MB",
                 .help = "The size in MiB of the parts uploads go in (S3 multipart upload, "
                         "Azure blocks): the archiver uploads each file so; a command uploads a "
                         "file no larger in one request",
                 .min = 5,
                 .max = 5000});
  core::declare(o, &c.stall_s,
                {.flag = "archive-stall-s",
                 .env = "MILLRACE_ARCHIVE_STALL_S",
                 .help = "A request to the store that moves no byte for this long is abandoned "
                         "(and the batch retried)",
                 .min = 5,
                 .max = 3600,
                 .unit = core::DurationUnit::kSeconds});
}

}  // namespace millrace::objstore
