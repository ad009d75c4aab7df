package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"casemail/intake"
)

// adminHandler serves /healthz, /readyz, /metrics and the admin API that
// `casemail cases` and `casemail backup` use while the daemon holds the store.
func (d *Daemon) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", d.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /api/cases", func(w http.ResponseWriter, r *http.Request) {
		f, err := filterFromQuery(r.URL.Query(), d.ov.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		list, err := listCases(d.db, f)
		writeJSON(w, list, err)
	})
	mux.HandleFunc("GET /api/cases/{id}", func(w http.ResponseWriter, r *http.Request) {
		c, err := showCase(d.db, intake.CaseID(r.PathValue("id")))
		if c == nil && err == nil {
			http.Error(w, "no such case", http.StatusNotFound)
			return
		}
		writeJSON(w, c, err)
	})
	mux.HandleFunc("GET /api/export", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		if err := exportCases(d.db, w); err != nil {
			d.log.Error("export failed", "err", err)
		}
	})
	mux.HandleFunc("GET /api/backup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if _, err := d.db.Backup(w); err != nil {
			d.log.Error("backup failed", "err", err)
		}
	})
	return mux
}

// check is one line of /readyz.
type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

func (d *Daemon) readiness() []check {
	now := d.ov.Now()
	var checks []check
	err := d.db.View(func(tx intake.Tx) error { _, err := tx.Mailbox(d.cfg.IMAP.Folder); return err })
	checks = append(checks, checkOf("store", err, d.cfg.Store.Path))

	stale := max(3*d.cfg.IMAP.PollInterval.Duration, 2*time.Minute)
	last := d.lastPoll.Load()
	switch {
	case last == 0:
		checks = append(checks, check{Name: "imap", Detail: "no successful poll yet"})
	case now.Sub(time.Unix(0, last)) > stale:
		checks = append(checks, check{Name: "imap", Detail: fmt.Sprintf("last successful poll %s ago", now.Sub(time.Unix(0, last)).Round(time.Second))})
	default:
		checks = append(checks, check{Name: "imap", OK: true, Detail: "last poll " + time.Unix(0, last).UTC().Format(time.RFC3339)})
	}

	var depth int
	var first *intake.Outgoing
	err = d.db.View(func(tx intake.Tx) (err error) { depth, first, err = tx.OutboxStats(); return err })
	switch {
	case err != nil:
		checks = append(checks, checkOf("smtp", err, ""))
	case first != nil && first.Attempts > 0 && now.Sub(first.Date) > 15*time.Minute:
		checks = append(checks, check{Name: "smtp", Detail: fmt.Sprintf("outbox stuck: oldest mail queued %s ago, %d tries, last error: %s",
			now.Sub(first.Date).Round(time.Second), first.Attempts, first.LastError)})
	default:
		checks = append(checks, check{Name: "smtp", OK: true, Detail: fmt.Sprintf("%d queued", depth)})
	}

	d.contactsMu.Lock()
	cerr := d.contactsErr
	d.contactsMu.Unlock()
	checks = append(checks, checkOf("contacts", cerr, d.cfg.Contacts.File))
	return checks
}

func checkOf(name string, err error, detail string) check {
	if err != nil {
		return check{Name: name, Detail: err.Error()}
	}
	return check{Name: name, OK: true, Detail: detail}
}

func (d *Daemon) readyz(w http.ResponseWriter, r *http.Request) {
	checks := d.readiness()
	ready := true
	for _, c := range checks {
		ready = ready && c.OK
	}
	w.Header().Set("Content-Type", "application/json")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(struct {
		Ready  bool    `json:"ready"`
		Checks []check `json:"checks"`
	}{ready, checks})
}

func writeJSON(w http.ResponseWriter, v any, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	newJSONEncoder(w).Encode(v)
}
