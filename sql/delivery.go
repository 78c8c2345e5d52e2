package queries

// RecordDelivery records the delivery events of one provider webhook request
// (sidecar/delivery).
var RecordDelivery = mustRead("record_delivery.sql")
