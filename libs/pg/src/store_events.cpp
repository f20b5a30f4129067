#include "millrace/pg/store_events.hpp"

#include "millrace/core/contract.hpp"
#include "millrace/core/timestamp.hpp"

namespace millrace::pg {

const std::vector<std::string> kStoreEventColumns = [] {
  std::vector<std::string> columns;
  for (const auto f : core::kColumnOrder) columns.emplace_back(core::field_name(f));
  for (const char* source : {"kafka_topic", "kafka_partition", "kafka_offset"}) {
    columns.emplace_back(source);
  }
  return columns;
}();

void append_store_event(CopyText& row, const core::StoreEvent& e, std::string_view topic,
                        std::int32_t partition, std::int64_t offset) {
  // Fields in the table's column order; the compiler flags one left out.
  for (const auto f : core::kColumnOrder) {
    switch (f) {
      case core::kId:
        row.text(e.id);
        break;
      case core::kRequestId:
        row.text(e.request_id);
        break;
      case core::kEventTypeField:
        row.text(core::to_string(e.event_type));
        break;
      case core::kStoreId:
        row.integer(e.store_id);
        break;
      case core::kStoreFqdn:
        row.text(e.store_fqdn);
        break;
      case core::kStoreIp:
        row.text(e.store_ip);
        break;
      case core::kCustId:
        row.integer(e.cust_id);
        break;
      case core::kCategory:
        row.text(e.category);
        break;
      case core::kSku:
        row.integer(e.sku);
        break;
      case core::kPrice:
        row.text(e.price.to_string());
        break;
      case core::kQty:
        row.integer(e.qty);
        break;
      case core::kDiscount:
        row.text(e.discount.to_string());
        break;
      case core::kGiftWrap:
        row.boolean(e.gift_wrap);
        break;
      case core::kVariant:
        row.text(e.variant);
        break;
      case core::kPriorityShipping:
        row.boolean(e.priority_shipping);
        break;
      case core::kTs:
        row.text(core::format_timestamp(e.ts));
        break;
      case core::kContactMe:
        if (e.contact_me) {
          row.text(*e.contact_me);
        } else {
          row.null();
        }
        break;
      case core::kIsReturn:
        row.boolean(e.is_return);
        break;
      case core::kFieldCount:
        break;
    }
  }
  row.text(topic).integer(partition).integer(offset);
}

}  // namespace millrace::pg
