package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"casemail/config"
	"casemail/intake"
	"casemail/store"
)

type caseFilter struct {
	State   string
	Account string
	// Breached keeps cases whose first response came late or is overdue
	// at Now.
	Breached bool
	// DueBefore keeps cases still waiting for a first response due before it.
	DueBefore time.Time
	Now       time.Time
}

// match reports whether c passes the filter.
func (f caseFilter) match(c *intake.Case) bool {
	if f.State != "" && string(c.State) != f.State {
		return false
	}
	if f.Account != "" && !strings.EqualFold(c.Account, f.Account) {
		return false
	}
	awaiting := c.FirstResponseAt == nil && c.FirstResponseDue != nil && c.State != intake.StateClosed
	if f.Breached {
		late := c.FirstResponseMet != nil && !*c.FirstResponseMet
		overdue := awaiting && c.FirstResponseDue.Before(f.Now)
		if !late && !overdue {
			return false
		}
	}
	if !f.DueBefore.IsZero() && (!awaiting || !c.FirstResponseDue.Before(f.DueBefore)) {
		return false
	}
	return true
}

// query is the filter as admin API parameters.
func (f caseFilter) query() url.Values {
	q := url.Values{}
	if f.State != "" {
		q.Set("state", f.State)
	}
	if f.Account != "" {
		q.Set("account", f.Account)
	}
	if f.Breached {
		q.Set("breached", "1")
	}
	if !f.DueBefore.IsZero() {
		q.Set("due_before", f.DueBefore.Format(time.RFC3339))
	}
	return q
}

// filterFromQuery reads admin API parameters.
func filterFromQuery(q url.Values, now time.Time) (caseFilter, error) {
	f := caseFilter{State: q.Get("state"), Account: q.Get("account"), Breached: q.Get("breached") == "1", Now: now}
	if v := q.Get("due_before"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return f, fmt.Errorf("due_before: %w", err)
		}
		f.DueBefore = t
	}
	return f, nil
}

// listCases returns the cases matching f, without messages, by number.
func listCases(st intake.Store, f caseFilter) ([]*intake.Case, error) {
	list := []*intake.Case{}
	err := st.View(func(tx intake.Tx) error {
		return tx.ForEachCase(func(c *intake.Case) error {
			if f.match(c) {
				list = append(list, c)
			}
			return nil
		})
	})
	sort.Slice(list, func(i, j int) bool { return caseLess(list[i].ID, list[j].ID) })
	return list, err
}

// caseLess orders IDs by prefix, then by number.
func caseLess(a, b intake.CaseID) bool {
	if pa, pb := a.Prefix(), b.Prefix(); pa != pb {
		return pa < pb
	}
	na, _ := strconv.ParseUint(string(a[len(a.Prefix())+1:]), 10, 64)
	nb, _ := strconv.ParseUint(string(b[len(b.Prefix())+1:]), 10, 64)
	return na < nb
}

// showCase returns a case with its conversation, or nil.
func showCase(st intake.Store, id intake.CaseID) (*intake.Case, error) {
	var c *intake.Case
	err := st.View(func(tx intake.Tx) error {
		var err error
		if c, err = tx.Case(id); err != nil || c == nil {
			return err
		}
		c.Messages, err = tx.Messages(id)
		if c.Messages == nil {
			c.Messages = []intake.Message{}
		}
		return err
	})
	return c, err
}

// caseSource answers case queries, exports and backups: through the
// running daemon's admin endpoint when one answers, else from the store
// file, opened read-only.
type caseSource struct {
	cfg *config.Config
}

// open GETs path from the admin endpoint; errNotRunning when nothing
// listens there, errNoCase on 404. The caller closes the body.
func (s caseSource) open(path string, timeout time.Duration) (io.ReadCloser, error) {
	if s.cfg.Admin.Listen == "" {
		return nil, errNotRunning
	}
	resp, err := (&http.Client{Timeout: timeout}).Get("http://" + s.cfg.Admin.Listen + path)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return nil, errNotRunning
	}
	if err != nil {
		return nil, fmt.Errorf("admin endpoint %s: %w", s.cfg.Admin.Listen, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Body, nil
	case http.StatusNotFound:
		resp.Body.Close()
		return nil, errNoCase
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return nil, fmt.Errorf("admin endpoint %s: %s: %s", s.cfg.Admin.Listen, resp.Status, strings.TrimSpace(string(body)))
}

// get decodes the JSON the admin endpoint answers for path.
func (s caseSource) get(path string, v any) error {
	body, err := s.open(path, 30*time.Second)
	if err != nil {
		return err
	}
	defer body.Close()
	return json.NewDecoder(body).Decode(v)
}

// copy streams what the admin endpoint answers for path to w; with no
// daemon, fromFile writes it from the store file instead.
func (s caseSource) copy(path string, w io.Writer, fromFile func(*store.DB) error) error {
	body, err := s.open(path, 10*time.Minute)
	if errors.Is(err, errNotRunning) {
		return s.withStore(fromFile)
	}
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(w, body)
	return err
}

var (
	errNoCase     = errors.New("no such case")
	errNotRunning = errors.New("no daemon answers")
)

func (s caseSource) withStore(fn func(*store.DB) error) error {
	db, err := store.Open(s.cfg.Store.Path, &store.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%w, and its admin endpoint %q does not answer", err, s.cfg.Admin.Listen)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(db)
}

func (s caseSource) list(f caseFilter) ([]*intake.Case, error) {
	var list []*intake.Case
	err := s.get("/api/cases?"+f.query().Encode(), &list)
	if errors.Is(err, errNotRunning) {
		err = s.withStore(func(db *store.DB) (err error) { list, err = listCases(db, f); return err })
	}
	return list, err
}

func (s caseSource) show(id intake.CaseID) (*intake.Case, error) {
	var c *intake.Case
	err := s.get("/api/cases/"+url.PathEscape(string(id)), &c)
	if errors.Is(err, errNotRunning) {
		err = s.withStore(func(db *store.DB) (err error) { c, err = showCase(db, id); return err })
	}
	if errors.Is(err, errNoCase) || (err == nil && c == nil) {
		return nil, fmt.Errorf("case %s: %w", id, errNoCase)
	}
	return c, err
}

// caseJSON is the JSON form of a case in PRODUCT.md, field for field:
// `cases show -json` prints one, `cases list -json` an array of them
// without messages.
type caseJSON struct {
	ID               intake.CaseID     `json:"id"`
	State            intake.State      `json:"state"`
	Account          string            `json:"account"`
	Engine           string            `json:"engine"`
	Severity         int               `json:"severity"`
	Nature           string            `json:"nature"`
	Environment      string            `json:"environment"`
	Contact          string            `json:"contact"`
	Language         string            `json:"language"`
	CreatedAt        time.Time         `json:"created_at"`
	FirstResponseDue *time.Time        `json:"first_response_due"`
	Related          []intake.CaseID   `json:"related"`
	SurveyRating     *int              `json:"survey_rating"`
	Messages         *[]intake.Message `json:"messages,omitempty"`
}

func toJSON(c *intake.Case, withMessages bool) caseJSON {
	j := caseJSON{ID: c.ID, State: c.State, Account: c.Account, Engine: c.Engine, Severity: c.Severity,
		Nature: c.Nature, Environment: c.Environment, Contact: c.Contact, Language: c.Language,
		CreatedAt: c.CreatedAt, FirstResponseDue: c.FirstResponseDue, Related: c.Related,
		SurveyRating: c.SurveyRating}
	if j.Related == nil {
		j.Related = []intake.CaseID{}
	}
	if withMessages {
		msgs := c.Messages
		if msgs == nil {
			msgs = []intake.Message{}
		}
		j.Messages = &msgs
	}
	return j
}

// exportCases writes every case with its conversation as JSON Lines, in
// case order, in the PRODUCT.md form of `cases show -json`.
func exportCases(st intake.Store, w io.Writer) error {
	list, err := listCases(st, caseFilter{})
	if err != nil {
		return err
	}
	enc := newJSONEncoder(w)
	for _, c := range list {
		err := st.View(func(tx intake.Tx) (err error) {
			c.Messages, err = tx.Messages(c.ID)
			return err
		})
		if err != nil {
			return err
		}
		if err := enc.Encode(toJSON(c, true)); err != nil {
			return err
		}
	}
	return nil
}

// export streams `cases export` from the daemon, or from the file.
func (s caseSource) export(w io.Writer) error {
	return s.copy("/api/export", w, func(db *store.DB) error { return exportCases(db, w) })
}

// backup writes a consistent copy of the store, from the daemon or the file.
func (s caseSource) backup(w io.Writer) error {
	return s.copy("/api/backup", w, func(db *store.DB) error { _, err := db.Backup(w); return err })
}

// printCases writes the human table of `cases list`.
func printCases(w io.Writer, list []*intake.Case) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSEV\tACCOUNT\tENGINE\tCONTACT\tCREATED\tFIRST RESPONSE DUE")
	for _, c := range list {
		due := "-"
		if c.FirstResponseDue != nil {
			due = c.FirstResponseDue.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.State, c.Severity, orDash(c.Account),
			orDash(c.Engine), c.Contact, c.CreatedAt.Format(time.RFC3339), due)
	}
	tw.Flush()
}

// printCase writes the human form of `cases show`.
func printCase(w io.Writer, c *intake.Case) {
	fmt.Fprintf(w, "%s  %s  severity %d\n", c.ID, c.State, c.Severity)
	fmt.Fprintf(w, "account:     %s\nengine:      %s\ncontact:     %s\nlanguage:    %s\n", orDash(c.Account), orDash(c.Engine), c.Contact, c.Language)
	fmt.Fprintf(w, "nature:      %s\nenvironment: %s\ncreated:     %s\n", c.Nature, orDash(c.Environment), c.CreatedAt.Format(time.RFC3339))
	if c.FirstResponseDue != nil {
		fmt.Fprintf(w, "first response due: %s\n", c.FirstResponseDue.Format(time.RFC3339))
	}
	if c.FirstResponseAt != nil {
		verdict := ""
		if c.FirstResponseMet != nil {
			verdict = map[bool]string{true: " (target met)", false: " (target missed)"}[*c.FirstResponseMet]
		}
		fmt.Fprintf(w, "first response:     %s%s\n", c.FirstResponseAt.Format(time.RFC3339), verdict)
	}
	if len(c.Related) > 0 {
		fmt.Fprintf(w, "related:     %v\n", c.Related)
	}
	if c.SurveyRating != nil {
		fmt.Fprintf(w, "survey:      %d/5\n", *c.SurveyRating)
	}
	for _, m := range c.Messages {
		fmt.Fprintf(w, "\n--- %s %s %s from %s to %s\n    %s\n", m.At.Format(time.RFC3339), m.Direction, m.Kind,
			m.From, strings.Join(m.To, ", "), m.Subject)
		for _, l := range strings.Split(strings.TrimSpace(m.Text), "\n") {
			fmt.Fprintf(w, "    | %s\n", l)
		}
		for _, a := range m.Attachments {
			fmt.Fprintf(w, "    attachment %s (%d bytes, sha256 %s)\n", a.Name, a.Size, a.SHA256)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
