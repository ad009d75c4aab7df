package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"casemail/config"
	"casemail/store"
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
	n, err := backupTo(cfg, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup to %s: %w", pos[0], err)
	}
	if err := os.Rename(tmp, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d bytes\n", pos[0], n)
	return nil
}

func backupTo(cfg *config.Config, w io.Writer) (int64, error) {
	if cfg.Admin.Listen != "" {
		client := &http.Client{Timeout: 10 * time.Minute}
		resp, err := client.Get("http://" + cfg.Admin.Listen + "/api/backup")
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return 0, fmt.Errorf("admin endpoint: %s", resp.Status)
			}
			return io.Copy(w, resp.Body)
		}
	}
	db, err := store.Open(cfg.Store.Path, &store.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if errors.Is(err, store.ErrLocked) {
		return 0, fmt.Errorf("%w, and its admin endpoint %q does not answer", err, cfg.Admin.Listen)
	}
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return db.Backup(w)
}
