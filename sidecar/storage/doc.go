// Package storage fetches email attachments from Supabase Storage behind a
// small interface (Fetcher), so the client underneath can be swapped.
//
// The implementation uses supabase-go's storage client (v0.0.4, the only
// served version; unmaintained upstream) for what it does well, the Storage
// API's paths and auth: it asks for a short-lived signed URL. The bytes are
// then fetched over the sidecar's own HTTP client, because the storage client
// takes no context (a hung download could not be cut off) and reads whole
// bodies without a bound. The signing call itself runs under the caller's
// deadline in a goroutine that is abandoned if the deadline passes.
package storage
