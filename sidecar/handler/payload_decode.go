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
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return d.end()
	}
	var seen uint16
	for {
		key, ok := d.str()
		if !ok || !d.consume(':') {
			return false
		}
		var bit uint16
		switch key {
		case "to":
			bit, ok = 1<<0, d.addresses(&p.To)
		case "from":
			bit, ok = 1<<1, d.optString(&p.From)
		case "subject":
			bit, ok = 1<<2, d.optString(&p.Subject)
		case "html":
			bit, ok = 1<<3, d.optString(&p.HTML)
		case "text":
			bit, ok = 1<<4, d.optString(&p.Text)
		case "cc":
			bit, ok = 1<<5, d.addresses(&p.Cc)
		case "bcc":
			bit, ok = 1<<6, d.addresses(&p.Bcc)
		case "reply_to":
			bit, ok = 1<<7, d.addresses(&p.ReplyTo)
		case "headers":
			bit, ok = 1<<8, d.stringMap(&p.Headers)
		case "tags":
			bit, ok = 1<<9, d.stringMap(&p.Tags)
		case "attachments":
			bit, ok = 1<<10, d.attachments(&p.Attachments)
		default:
			return false
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		more, ok := d.more('}')
		if !ok {
			return false
		}
		if !more {
			return d.end()
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
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	var seen uint8
	for {
		key, ok := d.str()
		if !ok || !d.consume(':') {
			return false
		}
		var bit uint8
		switch key {
		case "filename":
			bit, ok = 1<<0, d.optString(&a.Filename)
		case "content_type":
			bit, ok = 1<<1, d.optString(&a.ContentType)
		case "content":
			bit = 1 << 2
			if !d.null() {
				var s string
				s, ok = d.str()
				a.Content = &s
			}
		case "storage":
			bit = 1 << 3
			if !d.null() {
				a.Storage = new(StorageRef)
				ok = d.storage(a.Storage)
			}
		default:
			return false
		}
		if !ok || seen&bit != 0 {
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

// storage reads a {bucket, path} object.
func (d *jsonScanner) storage(s *StorageRef) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	var seen uint8
	for {
		key, ok := d.str()
		if !ok || !d.consume(':') {
			return false
		}
		var bit uint8
		switch key {
		case "bucket":
			bit, ok = 1<<0, d.optString(&s.Bucket)
		case "path":
			bit, ok = 1<<1, d.optString(&s.Path)
		default:
			return false
		}
		if !ok || seen&bit != 0 {
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
