// Package drip is the home of the drip.step kind: one due step of one
// enrollment per message. SQL checks the step is due and records it in one
// transaction (symphony.drip_step_begin, symphony.drip_step_sent, which
// dispatches the SMS); this package renders the step's body in between,
// checked by sms.DecodeSMS, and defers a step due in the recipient's quiet
// hours to the window's opening.
package drip
