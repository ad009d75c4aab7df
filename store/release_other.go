//go:build !linux

package store

// releaseMapped is a no-op where the Linux madvise semantics are not known.
func (db *DB) releaseMapped() error { return nil }
