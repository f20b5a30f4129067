#include "millrace/changefeed/assembler.hpp"

#include "millrace/core/overloaded.hpp"

namespace millrace::changefeed {

using core::Overloaded;

std::vector<std::size_t> Assembler::key_columns(const Relation& relation) {
  std::vector<std::size_t> out;
  // Default identity is the primary key, 'i' a unique index: pgoutput flags
  // exactly those columns.
  if (relation.replica_identity == 'd' || relation.replica_identity == 'i') {
    for (std::size_t i = 0; i < relation.columns.size(); ++i) {
      if (relation.columns[i].key) out.push_back(i);
    }
    if (!out.empty()) return out;
  }
  for (const auto& name : primary_key_(relation)) {
    for (std::size_t i = 0; i < relation.columns.size(); ++i) {
      if (relation.columns[i].name == name) out.push_back(i);
    }
  }
  if (!out.empty()) return out;
  // No key at all: the whole row identifies it.
  for (std::size_t i = 0; i < relation.columns.size(); ++i) out.push_back(i);
  return out;
}

Change& Assembler::add(Op op, Oid relation, Lsn wal_position) {
  if (!open_) throw DecodeError("pgoutput: a change outside a transaction");
  Change c;
  c.op = op;
  c.relation = relations_.shared(relation);
  if (op != Op::kTruncate) {
    auto key = keys_.find(relation);
    if (key == keys_.end()) key = keys_.emplace(relation, key_columns(*c.relation)).first;
    c.key_columns = key->second;
  }
  c.source.commit_lsn = open_->commit_lsn;
  c.source.xid = open_->xid;
  c.source.commit_time_pg_us = open_->commit_time_pg_us;
  c.source.seq = static_cast<std::uint32_t>(open_->changes.size());
  c.source.change_lsn = wal_position;
  open_->changes.push_back(std::move(c));
  return open_->changes.back();
}

std::optional<Transaction> Assembler::feed(Message message, Lsn wal_position) {
  std::optional<Transaction> done;
  std::visit(Overloaded{
                 [&](const Begin& b) {
                   if (open_) throw DecodeError("pgoutput: Begin inside a transaction");
                   open_ = Transaction{b.xid, b.final_lsn, 0, b.commit_time_pg_us, {}, {}};
                 },
                 [&](const Commit& c) {
                   if (!open_) throw DecodeError("pgoutput: Commit without a Begin");
                   if (c.commit_lsn != open_->commit_lsn) {
                     throw DecodeError("pgoutput: Commit at " + format_lsn(c.commit_lsn) +
                                       " for a transaction begun to end at " +
                                       format_lsn(open_->commit_lsn));
                   }
                   open_->end_lsn = c.end_lsn;
                   done = std::move(open_);
                   open_.reset();
                 },
                 [&](Relation& r) {
                   keys_.erase(r.oid);
                   relations_.put(std::move(r));
                 },
                 [&](Insert& i) {
                   add(Op::kCreate, i.relation, wal_position).after = std::move(i.new_tuple);
                 },
                 [&](Update& u) {
                   Change& c = add(Op::kUpdate, u.relation, wal_position);
                   c.before = std::move(u.old_tuple);
                   c.old_key = std::move(u.old_key);
                   c.after = std::move(u.new_tuple);
                 },
                 [&](Delete& d) {
                   Change& c = add(Op::kDelete, d.relation, wal_position);
                   c.before = std::move(d.old_tuple);
                   c.old_key = std::move(d.old_key);
                 },
                 [&](const Truncate& t) {
                   for (const Oid oid : t.relations) add(Op::kTruncate, oid, wal_position);
                 },
                 // Types only name a column's type (its OID is in the Relation);
                 // origins are not row changes. A transactional message belongs to
                 // its transaction; one that is not comes outside any and is
                 // dropped (the feed asks for none).
                 [](const Type&) {},
                 [](const Origin&) {},
                 [&](LogicalMessage& m) {
                   if (m.transactional && open_) open_->messages.push_back(std::move(m));
                 },
             },
             message);
  return done;
}

}  // namespace millrace::changefeed
