package intake

import (
	"fmt"
	"slices"
)

// StartFrom says what a first start does with mail already in the folder.
type StartFrom string

const (
	StartUnseen StartFrom = "unseen" // process what is unread, leave read mail alone
	StartAll    StartFrom = "all"    // process everything
	StartNow    StartFrom = "now"    // leave everything present alone
)

// Folder describes the selected mailbox, as the source saw it.
type Folder struct {
	Name        string
	UIDValidity uint32
	UIDNext     uint32
	// Unseen lists the UIDs of unread mail; called only at a first start
	// with StartUnseen.
	Unseen func() ([]uint32, error)
}

// Resume returns where to go on in a folder. At a first start it applies
// start; when the folder's UIDVALIDITY has changed since the store last saw
// it, the folder is read again from the start (deduplication keeps cases
// from doubling) and moves still pending under the old UIDs are dropped.
func (d *Desk) Resume(f Folder, start StartFrom) (*MailboxState, error) {
	var st *MailboxState
	err := d.opts.Store.Update(func(tx Tx) error {
		cur, err := tx.Mailbox(f.Name)
		if err != nil {
			return err
		}
		switch {
		case cur != nil && cur.UIDValidity == f.UIDValidity:
			st = cur
			return nil
		case cur != nil:
			d.log.Warn("UIDVALIDITY changed: reading the folder again; duplicates will be recognised",
				"folder", f.Name, "old", cur.UIDValidity, "new", f.UIDValidity)
			st = &MailboxState{UIDValidity: f.UIDValidity}
		default:
			st, err = firstStart(f, start)
			if err != nil {
				return err
			}
			d.log.Info("first start in folder", "folder", f.Name, "start_from", string(start),
				"skipping_up_to_uid", st.LastUID, "backlog", len(st.Backlog))
		}
		return tx.PutMailbox(f.Name, st)
	})
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w", f.Name, err)
	}
	return st, nil
}

func firstStart(f Folder, start StartFrom) (*MailboxState, error) {
	st := &MailboxState{UIDValidity: f.UIDValidity}
	last := uint32(0)
	if f.UIDNext > 0 {
		last = f.UIDNext - 1
	}
	switch start {
	case StartAll:
	case StartNow:
		st.LastUID = last
	case StartUnseen, "":
		st.LastUID = last
		unseen, err := f.Unseen()
		if err != nil {
			return nil, fmt.Errorf("listing unseen mail: %w", err)
		}
		for _, u := range unseen {
			if u <= last {
				st.Backlog = append(st.Backlog, u)
			}
		}
		slices.Sort(st.Backlog)
	default:
		return nil, fmt.Errorf("start_from %q: want unseen, all or now", start)
	}
	return st, nil
}

// Settled records that pending moves or flags of these UIDs are done.
func (d *Desk) Settled(folder string, uids []uint32) error {
	if len(uids) == 0 {
		return nil
	}
	return d.opts.Store.Update(func(tx Tx) error {
		st, err := tx.Mailbox(folder)
		if err != nil || st == nil {
			return err
		}
		st.settled(uids)
		return tx.PutMailbox(folder, st)
	})
}

// settled drops the pending moves of uids.
func (st *MailboxState) settled(uids []uint32) {
	if len(uids) == 0 {
		return
	}
	done := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		done[u] = true
	}
	st.Pending = slices.DeleteFunc(st.Pending, func(p PendingMove) bool { return done[p.UID] })
}

// Position reads the stored state of a folder (nil before a first start).
func (d *Desk) Position(folder string) (*MailboxState, error) {
	var st *MailboxState
	err := d.opts.Store.View(func(tx Tx) error {
		var err error
		st, err = tx.Mailbox(folder)
		return err
	})
	return st, err
}
