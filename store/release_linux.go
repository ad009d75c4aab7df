//go:build linux

package store

import (
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// releaseMapped drops the store's memory-mapped pages from the process's
// resident set. bbolt reads through a shared mapping of the file, so every
// page a transaction touches stays counted in the daemon's RSS, until the
// whole store (all conversations) is; the kernel keeps the pages in its
// page cache either way, and a later read maps them in again.
//
// It runs inside a read transaction, which keeps bbolt from remapping the
// file meanwhile: the range advised is mapped to the store, nothing else.
func (db *DB) releaseMapped() error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		info := db.bolt.Info()
		size := uintptr(tx.Size())
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, info.Data, size, unix.MADV_DONTNEED); errno != 0 {
			return errno
		}
		return nil
	})
}
