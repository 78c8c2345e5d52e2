package handler

// decodeEmailFast decodes an email.send payload into p by hand, as
// decodeStrict would, and reports whether it could. It covers the payloads
// the sidecar sees, PostgreSQL's jsonb text of a payload that passed
// symphony.validate_email_payload, at a tenth of encoding/json's cost.
// Anything unusual makes it report false, and DecodeEmail hands the payload
// to decodeStrict: encoding/json then decides and words every syntax, type
// and unknown-field error, so acceptance is the same by construction.
//
// Per quirk of encoding/json:
//   - keys match exactly; any other key falls back. encoding/json matches
//     keys case-insensitively ("TO", even "ſubject") and the schema does not
//     (it refuses any key it does not list), so those never reach us.
//   - a repeated key falls back (encoding/json: the last one wins, merging
//     objects into maps). jsonb keeps one value per key.
//   - null is decoded as encoding/json does: a no-op for a string ("" here,
//     as no key repeats), nil for a map, a slice, content or storage, the
//     zero value for an attachment, "" for an element of an address list or
//     a map value, and no list for an address list itself (as addressList's
//     UnmarshalJSON and the schema read it). The schema refuses most of the
//     others and the checks after decoding refuse "".
//   - escapes, surrogates and invalid UTF-8 as encoding/json (see str).
//   - numbers, booleans and values of the wrong type fall back, as does
//     anything but whitespace after the object (decodeStrict lets a stray
//     "}" or "]" through: json.Decoder.More says there is nothing more).
func decodeEmailFast(b []byte, p *emailPayload) bool {
	d := jsonScanner{s: string(b)}
	return d.object(func(key string) (uint16, bool) {
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
}

// object reads an object whose every key field knows: field reads the key's
// value and names the key by a bit of its own, so that a repeated key (or any
// key field does not know: bit 0) falls back.
func (d *jsonScanner) object(field func(key string) (bit uint16, ok bool)) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	var seen uint16
	for {
		key, ok := d.str()
		if !ok || !d.consume(':') {
			return false
		}
		bit, ok := field(key)
		if !ok || bit == 0 || seen&bit != 0 {
			return false
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

// addresses reads what addressList.UnmarshalJSON accepts: a string, or an
// array of strings and nulls.
func (d *jsonScanner) addresses(dst *addressList) bool {
	switch d.peek() {
	case 'n':
		*dst = nil // no list, as addressList.UnmarshalJSON and the schema read it
		return d.null()
	case '"':
		s, ok := d.str()
		*dst = addressList{s}
		return ok
	case '[':
		d.i++
	default:
		return false
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
				return false
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

// stringMap reads null or an object of strings (a null value is "").
func (d *jsonScanner) stringMap(dst *map[string]string) bool {
	if d.null() {
		*dst = nil
		return true
	}
	if !d.consume('{') {
		return false
	}
	m := make(map[string]string)
	*dst = m
	if d.consume('}') {
		return true
	}
	for {
		k, ok := d.str()
		if !ok || !d.consume(':') {
			return false
		}
		var v string
		if !d.null() {
			if v, ok = d.str(); !ok {
				return false
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
		return false
	}
	list := []attachmentPayload{}
	for !d.consume(']') {
		if len(list) > 0 && !d.consume(',') {
			return false
		}
		var a attachmentPayload
		if !d.null() && !d.attachment(&a) {
			return false
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
