//go:build !linux

package main

// hideFromSameUser is a no-op where prctl does not exist.
func hideFromSameUser() error { return nil }
