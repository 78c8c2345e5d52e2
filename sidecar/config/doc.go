// Package config reads the sidecar's configuration from the environment (Fly
// secrets in production) into one Config struct and validates it, with errors
// that name the variable to fix.
package config
