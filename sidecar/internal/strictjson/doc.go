// Package strictjson reads JSON the strict way, as the schema's checks read a
// payload: an object's keys match exactly and appear once each, and nothing
// but white space follows the value. Scanner is its one reader: the
// hand-written decoders of the email.send and sms.send payloads are built on
// it, and Decode checks any value's shape with it before encoding/json
// decodes the values (the campaign and drip payloads, and the provider fakes,
// which refuse what a vendor's API does not describe).
package strictjson
