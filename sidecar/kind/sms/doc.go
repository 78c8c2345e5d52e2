// Package sms is the home of the sms.send kind: its payload's decoder
// (DecodeSMS, as strict as the schema's validate_sms_payload) and its
// handler, which checks the number against the suppression list (a
// suppressed number cancels the message), keeps the message's quiet hours
// (outside them it is deferred, no attempt spent) and sends it through one
// SMSSender.
package sms
