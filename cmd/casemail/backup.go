package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"casemail/config"
)

// cmdBackup writes a consistent copy of the store: through the running
// daemon's admin endpoint, else from the file directly.
func cmdBackup(args []string, stdout io.Writer) error {
	var path string
	pos, err := parseFlags("backup", args, func(fs *flag.FlagSet) { configFlag(fs, &path) }, 1)
	if err != nil {
		return err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	tmp := pos[0] + ".partial"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	cw := &countingWriter{w: f}
	err = caseSource{cfg}.backup(cw)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup to %s: %w", pos[0], err)
	}
	if err := os.Rename(tmp, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d bytes\n", pos[0], cw.n)
	return nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
