package email

import (
	"github.com/symphonymessenger/symphony/sidecar/internal/strictjson"
)

// decodeEmailPayload decodes an email.send payload into p. It is the
// sidecar's one decoder of the format, written by hand for the payloads it
// sees (PostgreSQL's jsonb text of a payload that passed
// symphony.validate_email_payload) at about a tenth of encoding/json's cost
// (BenchmarkDecodeEmail against BenchmarkDecodeEmailOracle, which keeps
// encoding/json as the tests' oracle), on strictjson's Scanner, the one
// strict reader of JSON objects in the sidecar. It reads values as encoding/json
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
//   - escapes, surrogates and invalid UTF-8 as encoding/json (see
//     strictjson.Scanner.Str); in
//     headers and tags, a repeated name's last value wins, as in jsonb.
//   - numbers, booleans and values of the wrong type are refused.
//
// The error names the field and the byte where reading stopped.
func decodeEmailPayload(b []byte, p *emailPayload) error {
	d := strictjson.NewScanner(b)
	if d.Peek() != '{' {
		return d.FailErr("must be a JSON object")
	}
	ok := d.Object(func(key string) (uint64, bool) {
		switch key {
		case "to":
			return 1 << 0, addresses(d, &p.To)
		case "from":
			return 1 << 1, d.OptString(&p.From)
		case "subject":
			return 1 << 2, d.OptString(&p.Subject)
		case "html":
			return 1 << 3, d.OptString(&p.HTML)
		case "text":
			return 1 << 4, d.OptString(&p.Text)
		case "cc":
			return 1 << 5, addresses(d, &p.Cc)
		case "bcc":
			return 1 << 6, addresses(d, &p.Bcc)
		case "reply_to":
			return 1 << 7, addresses(d, &p.ReplyTo)
		case "headers":
			return 1 << 8, stringMap(d, &p.Headers)
		case "tags":
			return 1 << 9, stringMap(d, &p.Tags)
		case "attachments":
			return 1 << 10, attachments(d, &p.Attachments)
		}
		return 0, false
	}) && d.End()
	if !ok {
		return d.Err()
	}
	return nil
}

// addresses reads an address list: a string, or an array of strings and
// nulls; null is no list.
func addresses(d *strictjson.Scanner, dst *addressList) bool {
	switch d.Peek() {
	case 'n':
		*dst = nil
		if !d.Null() {
			return d.Fail("must be an email address or an array of them")
		}
		return true
	case '"':
		s, ok := d.Str()
		*dst = addressList{s}
		return ok
	case '[':
		d.Consume('[')
	default:
		return d.Fail("must be an email address or an array of them")
	}
	if d.Consume(']') {
		*dst = addressList{}
		return true
	}
	var buf [8]string // one allocation, of the right size, for most lists
	list := buf[:0]
	for {
		var s string
		if !d.Null() {
			var ok bool
			if s, ok = d.Str(); !ok {
				return d.In(strictjson.Index(len(list)))
			}
		}
		list = append(list, s)
		more, ok := d.More(']')
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
func stringMap(d *strictjson.Scanner, dst *map[string]string) bool {
	if d.Null() {
		*dst = nil
		return true
	}
	if d.Peek() != '{' {
		return d.Fail("must be an object of strings")
	}
	m := make(map[string]string)
	*dst = m
	return d.Members(func(k string, _ int) bool {
		var v string
		if !d.Null() {
			var ok bool
			if v, ok = d.Str(); !ok {
				return d.In("." + k)
			}
		}
		m[k] = v
		return true
	})
}

// attachments reads null or an array of attachment objects (or nulls).
func attachments(d *strictjson.Scanner, dst *[]attachmentPayload) bool {
	if d.Null() {
		*dst = nil
		return true
	}
	if !d.Consume('[') {
		return d.Fail("must be an array of attachments")
	}
	list := []attachmentPayload{}
	for !d.Consume(']') {
		if len(list) > 0 && !d.Consume(',') {
			return d.Fail(`want "," or "]"`)
		}
		var a attachmentPayload
		if !d.Null() && !attachment(d, &a) {
			return d.In(strictjson.Index(len(list)))
		}
		list = append(list, a)
	}
	*dst = list
	return true
}

// attachment reads one {filename, content, content_type, storage} object.
func attachment(d *strictjson.Scanner, a *attachmentPayload) bool {
	return d.Object(func(key string) (uint64, bool) {
		switch key {
		case "filename":
			return 1 << 0, d.OptString(&a.Filename)
		case "content_type":
			return 1 << 1, d.OptString(&a.ContentType)
		case "content":
			if d.Null() {
				return 1 << 2, true
			}
			s, ok := d.Str()
			a.Content = &s
			return 1 << 2, ok
		case "storage":
			if d.Null() {
				return 1 << 3, true
			}
			a.Storage = new(StorageRef)
			return 1 << 3, storageRef(d, a.Storage)
		}
		return 0, false
	})
}

// storageRef reads a {bucket, path} object.
func storageRef(d *strictjson.Scanner, st *StorageRef) bool {
	return d.Object(func(key string) (uint64, bool) {
		switch key {
		case "bucket":
			return 1 << 0, d.OptString(&st.Bucket)
		case "path":
			return 1 << 1, d.OptString(&st.Path)
		}
		return 0, false
	})
}
