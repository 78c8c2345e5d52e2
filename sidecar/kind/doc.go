// Package kind wires the built-in message kinds (Builtins): each has its
// own home below it, with its payload's decoder and its handler.
//
//   - kind/email: email.send, through an EmailSender, alone or in batch
//     requests;
//   - kind/sms: sms.send, through an SMSSender, within its quiet hours;
//   - kind/campaign: campaign.process, a campaign's next batch of emails;
//   - kind/drip: drip.step, one due step of a drip enrollment;
//   - kind/remote: kinds registered with an Edge Function or webhook
//     handler, and the Registry that routes every kind.
//
// The types they share with the queue and the worker (the claimed message,
// the handler, permanent, cancelled and deferred outcomes) are in
// sidecar/msgtype; the suppression list the senders check is
// sidecar/suppression.
package kind
