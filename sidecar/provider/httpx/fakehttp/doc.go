// Package fakehttp holds what the provider fake servers (resendfake,
// sendgridfake, postmarkfake, twiliofake) share: a Recorder of every request
// they receive, and Faults, a queue of injected failures consumed one per
// request.
//
// A fault says what goes wrong with the next request and when:
//
//	Status(500), RateLimited("2")  answer at once with that status and the
//	                               provider's own error body; nothing is sent
//	Slow(d)                        wait d (or until the client gives up), then
//	                               answer normally
//	Reset()                        drop the connection before acting: nothing sent
//	ResetAfterAccept()             accept and record the message, then drop the
//	                               connection: sent, but the client cannot know
//	Malformed()                    accept the message, then answer success with a
//	                               body that is not valid JSON
//
// Times(n, f) repeats a fault for the next n requests. Faults never touch
// requests beyond those they were queued for.
//
// SetRandom adds faults nobody queued: each request that finds the queue empty
// fails with a given probability, drawing from a mix (DefaultMix is 5xx, 429,
// a hang, and resets before and after accepting), for chaos tests.
package fakehttp
