#include "millrace/pg/store_events.hpp"

#include "millrace/core/timestamp.hpp"

namespace millrace::pg {

const std::vector<std::string> kStoreEventColumns = {
    "id",          "request_id", "event_type", "store_id",    "store_fqdn",
    "store_ip",    "cust_id",    "category",   "sku",         "price",
    "qty",         "discount",   "gift_wrap",  "variant",     "priority_shipping",
    "ts",          "contact_me", "is_return",  "kafka_topic", "kafka_partition",
    "kafka_offset"};

void append_store_event(CopyText& row, const core::StoreEvent& e, std::string_view topic,
                        std::int32_t partition, std::int64_t offset) {
  row.text(e.id).text(e.request_id).text(core::to_string(e.event_type)).integer(e.store_id);
  row.text(e.store_fqdn).text(e.store_ip).integer(e.cust_id).text(e.category).integer(e.sku);
  row.text(e.price.to_string()).integer(e.qty).text(e.discount.to_string());
  row.boolean(e.gift_wrap).text(e.variant).boolean(e.priority_shipping);
  row.text(core::format_timestamp(e.ts));
  if (e.contact_me) {
    row.text(*e.contact_me);
  } else {
    row.null();
  }
  row.boolean(e.is_return).text(topic).integer(partition).integer(offset);
}

}  // namespace millrace::pg
