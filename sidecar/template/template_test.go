package template

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestRender_EscapesForWhereTheValueLands(t *testing.T) {
	t.Parallel()
	data := Data{"name": `Ada <b>"Lovelace"</b> & co`, "token": "a b&c=d/é", "multi": "line one\r\nline two"}
	cases := []struct {
		src  string
		mode Mode
		want string
	}{
		{"Hi {{name}}!", Text, `Hi Ada <b>"Lovelace"</b> & co!`},
		{`<p title="{{ name }}">{{name}}</p>`, HTML, `<p title="Ada &lt;b&gt;&#34;Lovelace&#34;&lt;/b&gt; &amp; co">Ada &lt;b&gt;&#34;Lovelace&#34;&lt;/b&gt; &amp; co</p>`},
		{"Re: {{multi}}", Line, "Re: line one line two"},
		{"https://x.example/u/{{token}}?t={{token}}", URL, "https://x.example/u/a%20b%26c%3Dd%2F%C3%A9?t=a%20b%26c%3Dd%2F%C3%A9"},
		{"no tags, {braces} and }} stay", HTML, "no tags, {braces} and }} stay"},
		{"{{{name}}}", Text, `{Ada <b>"Lovelace"</b> & co}`},
	}
	for _, c := range cases {
		tpl, err := Parse("t", c.src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.src, err)
		}
		got, err := tpl.Render(data, c.mode)
		if err != nil || got != c.want {
			t.Errorf("Render(%q, %d) = %q, %v; want %q", c.src, c.mode, got, err, c.want)
		}
	}
}

func TestParse_RefusesMalformedTagsNamingTheField(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"Hi {{ first name }}", "{{name}", "{{}}", "{{1st}}", "a {{{b}}{", "{{ name }"} {
		_, err := Parse("campaign html", src)
		if err == nil || !strings.Contains(err.Error(), "campaign html has a malformed template tag") {
			t.Errorf("Parse(%q) = %v, want a malformed-tag error naming the field", src, err)
		}
	}
}

func TestRender_MissingVariableIsNamed(t *testing.T) {
	t.Parallel()
	tpl, err := Parse("t", "Hi {{first_name}}, {{last_name}}")
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.Vars(); strings.Join(got, ",") != "first_name,last_name" {
		t.Fatalf("Vars = %v", got)
	}
	_, err = tpl.Render(Data{"first_name": "Ada"}, Text)
	var missing *MissingError
	if !errors.As(err, &missing) || missing.Name != "last_name" || !strings.Contains(err.Error(), "{{last_name}}") {
		t.Fatalf("Render = %v, want a MissingError naming last_name", err)
	}
}

func TestDataFromJSON(t *testing.T) {
	t.Parallel()
	d, err := DataFromJSON(json.RawMessage(`{"s": "x", "n": 42, "f": -1.5, "b": true, "null": null, "o": {"a": 1}, "a": [1]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Data{"s": "x", "n": "42", "f": "-1.5", "b": "true"}
	if len(d) != len(want) {
		t.Fatalf("DataFromJSON = %v, want %v", d, want)
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %q, want %q", k, d[k], v)
		}
	}
	if _, err := DataFromJSON(json.RawMessage(`[1]`)); err == nil {
		t.Error("an array is not template data")
	}
}

// FuzzRender: any template either fails to parse or renders every variable it
// names; in HTML every "<" in the output comes from the template itself, and
// in Line mode no line break comes from a value.
func FuzzRender(f *testing.F) {
	f.Add("Hi {{name}}, <b>{{ x }}</b>", "<script>", "a\r\nb")
	f.Add("{{{a}}}{{b}}}}{", "&amp;", "")
	f.Add("{{ name", "x", "y")
	f.Fuzz(func(t *testing.T, src, v1, v2 string) {
		tpl, err := Parse("fuzz", src)
		if err != nil {
			return
		}
		data := Data{}
		for i, name := range tpl.Vars() {
			data[name] = []string{v1, v2}[i%2]
		}
		out, err := tpl.Render(data, HTML)
		if err != nil {
			t.Fatalf("Render of parsed %q: %v", src, err)
		}
		literal := tag.ReplaceAllString(src, "")
		if strings.Count(out, "<") != strings.Count(literal, "<") {
			t.Fatalf("HTML render of %q with %q, %q let a value's < through: %q", src, v1, v2, out)
		}
		line, _ := tpl.Render(data, Line)
		if strings.Count(line, "\n")+strings.Count(line, "\r") != strings.Count(literal, "\n")+strings.Count(literal, "\r") {
			t.Fatalf("Line render of %q let a value's line break through: %q", src, line)
		}
	})
}
