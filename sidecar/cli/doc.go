// Package cli is the operator's command line: symphony's subcommands, modelled on
// Symfony Messenger's console commands: status, failed (list, show, retry,
// remove), flags (list, set), dispatch (a test email or SMS) and drain. Each
// connects with DATABASE_URL, does one thing through package ops, and exits 0
// on success, 1 when the action failed and 2 on a usage error.
package cli
