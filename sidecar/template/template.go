package template

import (
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
)

// Mode says how a value is escaped where it lands.
type Mode int

const (
	// Text inserts values as they are (plain-text bodies, SMS).
	Text Mode = iota
	// HTML escapes values for HTML text and attribute values.
	HTML
	// Line folds runs of line breaks in values to one space, so a subject or a
	// header stays one line.
	Line
	// URL percent-encodes values (a space as %20), safe in a path segment or a
	// query value.
	URL
)

// tag is the one pattern of the syntax; the schema uses the same.
var tag = regexp.MustCompile(`\{\{[ \t\r\n]*([A-Za-z_][A-Za-z0-9_]*)[ \t\r\n]*\}\}`)

var lineBreaks = regexp.MustCompile(`[\r\n]+`)

// Template is a parsed template.
type Template struct {
	src  string
	locs [][]int // submatch indexes of every tag in src
}

// Parse checks src and returns its template. field names it in errors
// ("campaign html").
func Parse(field, src string) (*Template, error) {
	if rest := tag.ReplaceAllString(src, ""); strings.Contains(rest, "{{") {
		near := rest[strings.Index(rest, "{{"):]
		if len(near) > 30 {
			near = near[:30]
		}
		return nil, fmt.Errorf("%s has a malformed template tag near %q; variables look like {{first_name}}", field, near)
	}
	return &Template{src: src, locs: tag.FindAllStringSubmatchIndex(src, -1)}, nil
}

// Vars returns the distinct variables of the template in order of first use.
func (t *Template) Vars() []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range t.locs {
		if name := t.src[l[2]:l[3]]; !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// MissingError names a variable the data has no value for.
type MissingError struct{ Name string }

func (e *MissingError) Error() string {
	return fmt.Sprintf("no value for {{%s}} (a string, number or boolean in the data)", e.Name)
}

// Render fills in the template from data, escaping each value for mode.
func (t *Template) Render(data Data, mode Mode) (string, error) {
	var b strings.Builder
	b.Grow(len(t.src))
	last := 0
	for _, l := range t.locs {
		name := t.src[l[2]:l[3]]
		v, ok := data[name]
		if !ok {
			return "", &MissingError{Name: name}
		}
		b.WriteString(t.src[last:l[0]])
		b.WriteString(escape(v, mode))
		last = l[1]
	}
	b.WriteString(t.src[last:])
	return b.String(), nil
}

func escape(v string, mode Mode) string {
	switch mode {
	case HTML:
		return html.EscapeString(v)
	case Line:
		return lineBreaks.ReplaceAllString(v, " ")
	case URL:
		return strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
	}
	return v
}

// Data is the values of a template's variables.
type Data map[string]string

// DataFromJSON reads a JSON object of variables: strings as they are, numbers
// and booleans as written in the JSON; null, objects and arrays are left out
// (so using them is a missing variable).
func DataFromJSON(raw json.RawMessage) (Data, error) {
	var m map[string]json.RawMessage
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("template data is not a JSON object: %w", err)
		}
	}
	d := make(Data, len(m)+4)
	for k, v := range m {
		var s string
		switch {
		case string(v) == "null":
		case json.Unmarshal(v, &s) == nil:
			d[k] = s
		case len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9' || string(v) == "true" || string(v) == "false"):
			d[k] = string(v)
		}
	}
	return d, nil
}
