package supabasecheck

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// codeBlocks returns the contents of the fenced code blocks of md whose info string is
// lang, in order.
func codeBlocks(md, lang string) []string {
	var blocks []string
	var cur *strings.Builder
	for _, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```"+lang:
			cur = &strings.Builder{}
		case cur != nil && trimmed == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line)
			cur.WriteByte('\n')
		}
	}
	return blocks
}

// rpcCall is one supabase-js `.schema(schema).rpc(fn, args)` call.
type rpcCall struct {
	schema, fn string
	args       map[string]json.RawMessage
}

var rpcStart = regexp.MustCompile(`\.schema\('(\w+)'\)\.rpc\('(\w+)',\s*`)

// rpcCalls finds the rpc calls in TypeScript source and turns each argument object into
// JSON, as supabase-js sends it. Identifiers used as values are looked up in vars.
func rpcCalls(src string, vars map[string]any) ([]rpcCall, error) {
	var calls []rpcCall
	for _, m := range rpcStart.FindAllStringSubmatchIndex(src, -1) {
		obj, err := balanced(src[m[1]:])
		if err != nil {
			return nil, fmt.Errorf("rpc %s: %w", src[m[4]:m[5]], err)
		}
		js, err := jsToJSON(obj, vars)
		if err != nil {
			return nil, fmt.Errorf("rpc %s: %w", src[m[4]:m[5]], err)
		}
		c := rpcCall{schema: src[m[2]:m[3]], fn: src[m[4]:m[5]]}
		if err := json.Unmarshal([]byte(js), &c.args); err != nil {
			return nil, fmt.Errorf("rpc %s: arguments %s: %w", c.fn, js, err)
		}
		calls = append(calls, c)
	}
	return calls, nil
}

// balanced returns the {...} object literal s starts with.
func balanced(s string) (string, error) {
	if !strings.HasPrefix(s, "{") {
		return "", fmt.Errorf("arguments are not an object literal: %.40q", s)
	}
	depth, quote := 0, rune(0)
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '{' || r == '[':
			depth++
		case r == '}' || r == ']':
			depth--
			if depth == 0 {
				return s[:i+1], nil
			}
		}
	}
	return "", fmt.Errorf("unbalanced object literal: %.40q", s)
}

// jsToJSON rewrites a JavaScript object literal of strings, numbers, booleans, nested
// objects and arrays, and identifiers (from vars) as JSON. Strings hold no escapes.
func jsToJSON(src string, vars map[string]any) (string, error) {
	var out strings.Builder
	rs := []rune(src)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\'' || r == '"':
			j := i + 1
			for j < len(rs) && rs[j] != r {
				j++
			}
			if j == len(rs) {
				return "", fmt.Errorf("unterminated string in %s", src)
			}
			b, _ := json.Marshal(string(rs[i+1 : j]))
			out.Write(b)
			i = j
		case unicode.IsLetter(r) || r == '_':
			j := i
			for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || rs[j] == '_') {
				j++
			}
			word := string(rs[i:j])
			k := j
			for k < len(rs) && unicode.IsSpace(rs[k]) {
				k++
			}
			switch {
			case k < len(rs) && rs[k] == ':':
				b, _ := json.Marshal(word)
				out.Write(b)
			case word == "true" || word == "false" || word == "null":
				out.WriteString(word)
			default:
				v, ok := vars[word]
				if !ok {
					return "", fmt.Errorf("no value for identifier %s", word)
				}
				b, err := json.Marshal(v)
				if err != nil {
					return "", err
				}
				out.Write(b)
			}
			i = j - 1
		case r == ',':
			// JSON has no trailing commas.
			k := i + 1
			for k < len(rs) && unicode.IsSpace(rs[k]) {
				k++
			}
			if k < len(rs) && (rs[k] == '}' || rs[k] == ']') {
				continue
			}
			out.WriteRune(r)
		default:
			out.WriteRune(r)
		}
	}
	return out.String(), nil
}

// tomlArray returns the string array assigned to key in [table] of a TOML fragment.
func tomlArray(src, table, key string) ([]string, bool) {
	in := false
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			in = line == "["+table+"]"
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !in || !ok || strings.TrimSpace(k) != key {
			continue
		}
		var vals []string
		if err := json.Unmarshal([]byte(strings.TrimSpace(v)), &vals); err != nil {
			return nil, false
		}
		return vals, true
	}
	return nil, false
}
