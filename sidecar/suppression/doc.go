// Package suppression answers "may this address be contacted?" from
// symphony.suppressions, for the email and SMS kinds, right before their
// provider calls (an opt-out recorded after a message was dispatched still
// stops it). List asks one statement per check; Batch gathers the checks of
// many messages in flight into one statement, and answers a whole claim's
// checks at once (Precheck). A suppressed recipient cancels its message
// (Cancel): it is not a failure.
package suppression
