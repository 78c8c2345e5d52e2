package queries

// RecordDelivery records the delivery events of one provider webhook request
// (sidecar/providerevents).
var RecordDelivery = mustRead("record_delivery.sql")
