// Package template renders the {{variable}} templates of campaigns and drips.
//
// The syntax is deliberately tiny and shared with the schema, which checks
// templates when they are written (symphony.template_variables): a tag is
// {{ name }}, name a letter or underscore then letters, digits or underscores,
// spaces allowed inside the braces; after removing every tag, no "{{" may remain.
// Values are escaped for where they land: HTML-escaped in HTML, percent-encoded
// in URLs, as-is in plain text, and with line breaks folded to spaces in a
// line (an email subject or header). A variable without a value is an error
// that names it; there are no conditionals, loops or raw output.
package template
