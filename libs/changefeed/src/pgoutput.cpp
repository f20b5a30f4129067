#include "millrace/changefeed/pgoutput.hpp"

#include "wire.hpp"

namespace millrace::changefeed {

namespace {

Value read_value(wire::Reader& in) {
  Value v;
  const char kind = in.byte();
  switch (kind) {
    case 'n':
      v.kind = Value::Kind::kNull;
      break;
    case 'u':
      v.kind = Value::Kind::kUnchanged;
      break;
    case 't':
    case 'b': {
      v.kind = kind == 't' ? Value::Kind::kText : Value::Kind::kBinary;
      const std::int32_t length = in.i32();
      if (length < 0) in.fail("a negative value length");
      v.data = std::string(in.bytes(static_cast<std::size_t>(length)));
      break;
    }
    default:
      in.fail(std::string("an unknown column value kind '") + kind + "'");
  }
  return v;
}

Tuple read_tuple(wire::Reader& in) {
  const std::int16_t count = in.i16();
  if (count < 0) in.fail("a negative column count");
  Tuple tuple;
  tuple.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) tuple.push_back(read_value(in));
  return tuple;
}

// 'K' or 'O' then a tuple, into the matching slot; anything else fails.
void read_old(wire::Reader& in, char marker, std::optional<Tuple>& key, std::optional<Tuple>& row) {
  if (marker == 'K') {
    key = read_tuple(in);
  } else if (marker == 'O') {
    row = read_tuple(in);
  } else {
    in.fail(std::string("expected 'K' or 'O' before the old row, got '") + marker + "'");
  }
}

void expect(wire::Reader& in, char want) {
  const char got = in.byte();
  if (got != want) {
    in.fail(std::string("expected '") + want + "', got '" + got + "'");
  }
}

Relation read_relation(wire::Reader& in) {
  Relation r;
  r.oid = in.u32();
  r.schema = std::string(in.cstring());
  r.name = std::string(in.cstring());
  r.replica_identity = in.byte();
  const std::int16_t count = in.i16();
  if (count < 0) in.fail("a negative column count");
  r.columns.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    Column c;
    c.key = (in.u8() & 1) != 0;
    c.name = std::string(in.cstring());
    c.type_oid = in.u32();
    c.type_modifier = in.i32();
    r.columns.push_back(std::move(c));
  }
  return r;
}

Message read_message(wire::Reader& in) {
  const char type = in.byte();
  switch (type) {
    case 'B': {
      Begin b;
      b.final_lsn = in.u64();
      b.commit_time_pg_us = in.i64();
      b.xid = in.u32();
      return b;
    }
    case 'C': {
      Commit c;
      in.u8();  // flags, unused
      c.commit_lsn = in.u64();
      c.end_lsn = in.u64();
      c.commit_time_pg_us = in.i64();
      return c;
    }
    case 'O': {
      Origin o;
      o.origin_lsn = in.u64();
      o.name = std::string(in.cstring());
      return o;
    }
    case 'R':
      return read_relation(in);
    case 'Y': {
      Type t;
      t.oid = in.u32();
      t.schema = std::string(in.cstring());
      t.name = std::string(in.cstring());
      return t;
    }
    case 'I': {
      Insert i;
      i.relation = in.u32();
      expect(in, 'N');
      i.new_tuple = read_tuple(in);
      return i;
    }
    case 'U': {
      Update u;
      u.relation = in.u32();
      char marker = in.byte();
      if (marker != 'N') {
        read_old(in, marker, u.old_key, u.old_tuple);
        marker = in.byte();
      }
      if (marker != 'N')
        in.fail(std::string("expected 'N' before the new row, got '") + marker + "'");
      u.new_tuple = read_tuple(in);
      return u;
    }
    case 'D': {
      Delete d;
      d.relation = in.u32();
      read_old(in, in.byte(), d.old_key, d.old_tuple);
      return d;
    }
    case 'T': {
      Truncate t;
      const std::int32_t count = in.i32();
      if (count < 0) in.fail("a negative relation count");
      const std::uint8_t options = in.u8();
      t.cascade = (options & 1) != 0;
      t.restart_identity = (options & 2) != 0;
      for (int i = 0; i < count; ++i) t.relations.push_back(in.u32());
      return t;
    }
    case 'M': {
      LogicalMessage m;
      m.transactional = (in.u8() & 1) != 0;
      m.lsn = in.u64();
      m.prefix = std::string(in.cstring());
      const std::int32_t length = in.i32();
      if (length < 0) in.fail("a negative content length");
      m.content = std::string(in.bytes(static_cast<std::size_t>(length)));
      return m;
    }
    default:
      in.fail(std::string("unknown message type '") + type + "'");
  }
}

}  // namespace

Message decode(std::string_view bytes) {
  wire::Reader in(bytes, "pgoutput message");
  Message m = read_message(in);
  if (!in.at_end()) in.fail("trailing bytes after the message");
  return m;
}

void RelationCache::put(Relation relation) {
  const Oid oid = relation.oid;
  relations_.insert_or_assign(oid, std::make_shared<const Relation>(std::move(relation)));
}

std::shared_ptr<const Relation> RelationCache::shared(Oid oid) const {
  const auto it = relations_.find(oid);
  if (it == relations_.end()) {
    throw DecodeError("pgoutput: a change for relation " + std::to_string(oid) +
                      ", which the stream has not described");
  }
  return it->second;
}

}  // namespace millrace::changefeed
