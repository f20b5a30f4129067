#pragma once

// The PostgreSQL side of the change feed: a replication connection as the
// feed's ReplicationPort, with the checks before streaming (the publication
// exists, the slot is pgoutput's), and the primary-key lookup the assembler
// asks for when pgoutput does not flag the key.

#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "millrace/changefeed/feed.hpp"
#include "millrace/changefeed/service.hpp"
#include "millrace/pg/replication.hpp"

namespace millrace::changefeed {

// The replication connection's application_name: "millrace-changefeed/"
// and the publication. Any role reads a session's application_name and
// role in pg_stat_activity, so this is how the CLI finds the feeds that
// serve a publication, and the role each logs in as, without the feed
// writing anywhere (a role that may not write the signal table is the case
// to report). PostgreSQL cuts it to 63 bytes: compare the same cut.
std::string feed_application_name(const std::string& publication);

class PgStream final : public ReplicationPort {
 public:
  // Connects and checks. Throws core::InfraError: fatal when the
  // publication is missing or the slot belongs to another plugin or
  // database.
  //
  // `slot_wait` hears what a slot's creation waits for (create_slot()), and
  // may throw (runtime::Stopped on a stop) to cancel it.
  using SlotWait = std::function<void(const std::string& why)>;
  explicit PgStream(const ChangefeedConfig& config, SlotWait slot_wait = {});

  bool slot_exists() const { return slot_exists_; }
  // The slot exists but PostgreSQL invalidated it (wal_status "lost": it
  // held more WAL than max_slot_wal_keep_size): it can no longer stream.
  bool slot_lost() const { return slot_lost_; }
  // Creates the slot and returns its consistent point (streaming starts
  // there). PostgreSQL starts a logical slot only where no transaction is
  // open: it waits for every transaction open in the cluster (in any
  // database) to end, however long. Past a few seconds, and then every
  // minute, `slot_wait` is told so with the sessions it waits for; it is
  // called every 200 ms (with "" between) and may cancel it by throwing.
  Lsn create_slot();
  // The slot's confirmed_flush_lsn: for one created and never streamed
  // from, its consistent point.
  Lsn slot_confirmed();
  // Drops the slot: only one that nothing was published from (refused by
  // the server while another session streams from it).
  void drop_slot();
  // For the initial snapshot, which creates the slot itself (PgSnapshot).
  pg::ReplicationConnection& connection() { return conn_; }

  // The server's WAL position when connected (IDENTIFY_SYSTEM).
  Lsn server_position() const { return server_position_; }
  // PostgreSQL 14 and later send logical messages (pgoutput's `messages`),
  // which backfills' watermarks are: start() asks for them there.
  bool messages() const { return server_version_ >= 140000; }
  // Streams from the slot's confirmed position.
  void start();

  std::optional<std::string_view> read(std::chrono::milliseconds timeout) override;
  void write(std::string_view copy_data) override;

  // The names of `relation`'s primary key columns, in key order.
  std::vector<std::string> primary_key(const Relation& relation);

 private:
  const ChangefeedConfig& config_;
  pg::ReplicationConnection conn_;
  // Why a slot's creation waits: the sessions holding it up.
  std::string slot_blockers();
  pqxx::connection& catalog();

  SlotWait slot_wait_;
  std::unique_ptr<pqxx::connection> catalog_;  // opened on first use
  Lsn server_position_ = 0;
  int server_version_ = 0;
  bool slot_exists_ = false;
  bool slot_lost_ = false;
};

}  // namespace millrace::changefeed
