package email

import "strconv"

// decodeEmailPayload decodes an email.send payload into p. It is the
// sidecar's one decoder of the format, written by hand for the payloads it
// sees (PostgreSQL's jsonb text of a payload that passed
// symphony.validate_email_payload) at about a tenth of encoding/json's cost
// (BenchmarkDecodeEmail against BenchmarkDecodeEmailOracle, which keeps
// encoding/json as the tests' oracle). It reads values as encoding/json
// would; where encoding/json is laxer than the schema, it is as strict as
// the schema:
//   - the payload is an object; keys match exactly, each at most once.
//     encoding/json would match "TO" or even "ſubject" and let a repeated
//     key's last value win; the schema refuses a key it does not list, and
//     jsonb keeps one value per key.
//   - nothing but whitespace follows the object (json.Decoder would let a
//     stray "}" or "]" through).
//   - null reads as encoding/json reads it: "" for a string, nil for a map,
//     a slice, content or storage, the zero value for an attachment, "" for
//     an element of an address list or a map value, and no list for an
//     address list itself (as the schema reads "cc": null). The checks after
//     decoding refuse "" where a value is needed.
//   - escapes, surrogates and invalid UTF-8 as encoding/json (see str); in
//     headers and tags, a repeated name's last value wins, as in jsonb.
//   - numbers, booleans and values of the wrong type are refused.
//
// The error names the field and the byte where reading stopped.
func decodeEmailPayload(b []byte, p *emailPayload) error {
	d := jsonScanner{s: string(b)}
	if d.peek() != '{' {
		return d.failErr("must be a JSON object")
	}
	ok := d.object(func(key string) (uint16, bool) {
		switch key {
		case "to":
			return 1 << 0, d.addresses(&p.To)
		case "from":
			return 1 << 1, d.optString(&p.From)
		case "subject":
			return 1 << 2, d.optString(&p.Subject)
		case "html":
			return 1 << 3, d.optString(&p.HTML)
		case "text":
			return 1 << 4, d.optString(&p.Text)
		case "cc":
			return 1 << 5, d.addresses(&p.Cc)
		case "bcc":
			return 1 << 6, d.addresses(&p.Bcc)
		case "reply_to":
			return 1 << 7, d.addresses(&p.ReplyTo)
		case "headers":
			return 1 << 8, d.stringMap(&p.Headers)
		case "tags":
			return 1 << 9, d.stringMap(&p.Tags)
		case "attachments":
			return 1 << 10, d.attachments(&p.Attachments)
		}
		return 0, false
	}) && d.end()
	if !ok {
		return d.err()
	}
	return nil
}

// failErr records want and returns the error.
func (d *jsonScanner) failErr(want string) error {
	d.fail(want)
	return d.err()
}

// object reads an object whose every key field knows: field reads the key's
// value and names the key by a bit of its own, so that a repeated key fails
// (and bit 0, for a key field does not know, fails too).
func (d *jsonScanner) object(field func(key string) (bit uint16, ok bool)) bool {
	if !d.consume('{') {
		return d.fail("must be an object")
	}
	if d.consume('}') {
		return true
	}
	var seen uint16
	for {
		if d.peek() != '"' {
			return d.fail(`want a field name in quotes`)
		}
		at := d.i
		key, ok := d.str()
		if !ok {
			return false
		}
		if !d.consume(':') {
			return d.fail(`want ":"`)
		}
		bit, ok := field(key)
		switch {
		case bit == 0:
			return d.failAt(at, "unknown field "+strconv.Quote(key))
		case !ok:
			return d.in("." + key)
		case seen&bit != 0:
			return d.failAt(at, "repeated field "+strconv.Quote(key))
		}
		seen |= bit
		more, ok := d.more('}')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// optString reads a string or null (which leaves *dst as it is).
func (d *jsonScanner) optString(dst *string) bool {
	if d.null() {
		return true
	}
	s, ok := d.str()
	*dst = s
	return ok
}

// addresses reads an address list: a string, or an array of strings and
// nulls; null is no list.
func (d *jsonScanner) addresses(dst *addressList) bool {
	switch d.peek() {
	case 'n':
		*dst = nil
		if !d.null() {
			return d.fail("must be an email address or an array of them")
		}
		return true
	case '"':
		s, ok := d.str()
		*dst = addressList{s}
		return ok
	case '[':
		d.i++
	default:
		return d.fail("must be an email address or an array of them")
	}
	if d.consume(']') {
		*dst = addressList{}
		return true
	}
	var buf [8]string // one allocation, of the right size, for most lists
	list := buf[:0]
	for {
		var s string
		if !d.null() {
			var ok bool
			if s, ok = d.str(); !ok {
				return d.in(index(len(list)))
			}
		}
		list = append(list, s)
		more, ok := d.more(']')
		if !ok {
			return false
		}
		if !more {
			*dst = append(addressList(nil), list...)
			return true
		}
	}
}

// stringMap reads null or an object of strings (a null value is ""; a
// repeated name's last value wins).
func (d *jsonScanner) stringMap(dst *map[string]string) bool {
	if d.null() {
		*dst = nil
		return true
	}
	if !d.consume('{') {
		return d.fail("must be an object of strings")
	}
	m := make(map[string]string)
	*dst = m
	if d.consume('}') {
		return true
	}
	for {
		if d.peek() != '"' {
			return d.fail(`want a name in quotes`)
		}
		k, ok := d.str()
		if !ok {
			return false
		}
		if !d.consume(':') {
			return d.fail(`want ":"`)
		}
		var v string
		if !d.null() {
			if v, ok = d.str(); !ok {
				return d.in("." + k)
			}
		}
		m[k] = v
		more, ok := d.more('}')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// attachments reads null or an array of attachment objects (or nulls).
func (d *jsonScanner) attachments(dst *[]attachmentPayload) bool {
	if d.null() {
		*dst = nil
		return true
	}
	if !d.consume('[') {
		return d.fail("must be an array of attachments")
	}
	list := []attachmentPayload{}
	for !d.consume(']') {
		if len(list) > 0 && !d.consume(',') {
			return d.fail(`want "," or "]"`)
		}
		var a attachmentPayload
		if !d.null() && !d.attachment(&a) {
			return d.in(index(len(list)))
		}
		list = append(list, a)
	}
	*dst = list
	return true
}

// attachment reads one {filename, content, content_type, storage} object.
func (d *jsonScanner) attachment(a *attachmentPayload) bool {
	return d.object(func(key string) (uint16, bool) {
		switch key {
		case "filename":
			return 1 << 0, d.optString(&a.Filename)
		case "content_type":
			return 1 << 1, d.optString(&a.ContentType)
		case "content":
			if d.null() {
				return 1 << 2, true
			}
			s, ok := d.str()
			a.Content = &s
			return 1 << 2, ok
		case "storage":
			if d.null() {
				return 1 << 3, true
			}
			a.Storage = new(StorageRef)
			return 1 << 3, d.storage(a.Storage)
		}
		return 0, false
	})
}

// storage reads a {bucket, path} object.
func (d *jsonScanner) storage(st *StorageRef) bool {
	return d.object(func(key string) (uint16, bool) {
		switch key {
		case "bucket":
			return 1 << 0, d.optString(&st.Bucket)
		case "path":
			return 1 << 1, d.optString(&st.Path)
		}
		return 0, false
	})
}
