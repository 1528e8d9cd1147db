package boltstore

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// submission returns a valid face opt-out of person i.
func submission(i int) *exclusion.Submission {
	face := exclusiontest.PNG(exclusiontest.Image(160, 160, exclusiontest.Face{Box: image.Rect(20, 20, 140, 140), Color: exclusiontest.Person(i)}))
	return &exclusion.Submission{
		Kind: exclusion.FaceOptOut, Country: "NL", Reason: "fault test", Name: "Kim",
		Email: "kim@example.nl", Phone: "+31612345678", Photos: []exclusion.Photo{{Data: face}},
	}
}

// newRegistry creates a registry in a new store file and returns both.
func newRegistry(t *testing.T, path string) (*Store, *exclusion.Registry) {
	t.Helper()
	st, err := Create(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := exclusion.Create(context.Background(), st, &exclusiontest.Embedder{}, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return st, reg
}

// reopen opens the registry at path and checks that it holds every
// acknowledged request in its acknowledged status.
func reopen(t *testing.T, path string, acked map[string]exclusion.Status) *exclusion.Registry {
	t.Helper()
	st, err := Open(path, Config{})
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	reg, err := exclusion.Open(context.Background(), st, &exclusiontest.Embedder{}, exclusion.DefaultConfig())
	if err != nil {
		st.Close()
		t.Fatalf("reopening: %v", err)
	}
	for id, status := range acked {
		req, err := reg.Get(context.Background(), id)
		if err != nil {
			t.Fatalf("acknowledged request %s lost: %v", id, err)
		}
		if req.Status != status {
			t.Fatalf("request %s is %s, %s was acknowledged", id, req.Status, status)
		}
	}
	return reg
}

var errInjected = errors.New("injected I/O error")

// TestCommitFaults injects a failing commit into a store in use: the write
// fails with an error wrapping ErrFailed (and the cause), every later call
// fails the same way (nothing more is acknowledged on a file whose state is
// unknown), and the reopened file holds every acknowledged request.
func TestCommitFaults(t *testing.T) {
	tests := []struct {
		name   string
		commit func(tx *bolt.Tx) error
		// written: the failed transaction reached the file (a failed fsync
		// after the write); it may then be found after reopening.
		written bool
	}{
		{"write fails", func(tx *bolt.Tx) error { _ = tx.Rollback(); return fmt.Errorf("write: %w", syscall.EIO) }, false},
		{"disk full", func(tx *bolt.Tx) error { _ = tx.Rollback(); return fmt.Errorf("write: %w", syscall.ENOSPC) }, false},
		{"fsync fails after the write", func(tx *bolt.Tx) error {
			if err := tx.Commit(); err != nil {
				return err
			}
			return fmt.Errorf("fdatasync: %w", errInjected)
		}, true},
		{"commit panics", func(tx *bolt.Tx) error { panic("page out of bounds") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "registry.db")
			st, reg := newRegistry(t, path)
			acked := map[string]exclusion.Status{}
			a, err := reg.Submit(ctx, submission(1), "t")
			if err != nil {
				t.Fatal(err)
			}
			acked[a.ID] = exclusion.Pending
			if _, err := reg.Approve(ctx, a.ID, "t", ""); err != nil {
				t.Fatal(err)
			}
			acked[a.ID] = exclusion.Approved

			st.commit = tt.commit
			_, err = reg.Submit(ctx, submission(2), "t")
			if !errors.Is(err, ErrFailed) {
				t.Fatalf("Submit with a failing commit: %v, want ErrFailed", err)
			}
			st.commit = (*bolt.Tx).Commit // the disk is back: the store must still refuse
			if _, err := reg.Submit(ctx, submission(3), "t"); !errors.Is(err, ErrFailed) {
				t.Fatalf("Submit after a failed commit: %v, want ErrFailed", err)
			}
			if _, err := st.Get(ctx, a.ID); !errors.Is(err, ErrFailed) {
				t.Fatalf("Get after a failed commit: %v, want ErrFailed", err)
			}
			if err := reg.Close(); err != nil && !errors.Is(err, ErrFailed) {
				t.Fatal(err)
			}
			st.Close()

			reg = reopen(t, path, acked)
			defer reg.Close()
			n := 0
			for _, err := range reg.Requests(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != 1 && !(tt.written && n == 2) {
				t.Fatalf("%d requests after reopening, want 1 (or 2 when the failed write reached the file)", n)
			}
		})
	}
}

// Environment of TestDiskFullChild.
const diskFullEnv = "BOLTSTORE_DISKFULL_DB"

// TestDiskFullChild is the child of TestDiskFull: with the file size limit
// (RLIMIT_FSIZE) just above the store's size, it submits requests until a
// write fails, printing each acknowledged id, then the error.
func TestDiskFullChild(t *testing.T) {
	path := os.Getenv(diskFullEnv)
	if path == "" {
		t.Skip("run by TestDiskFull")
	}
	signal.Ignore(syscall.SIGXFSZ) // a write past the limit fails with EFBIG instead of killing
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	lim := uint64(fi.Size()) + 256<<10
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := Open(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := exclusion.Open(ctx, st, &exclusiontest.Embedder{}, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100000; i++ {
		req, err := reg.Submit(ctx, submission(i), "t")
		if err != nil {
			fmt.Printf("FAILED %v\n", err)
			if _, err := reg.Submit(ctx, submission(i), "t"); err == nil {
				fmt.Println("ACCEPTED AFTER FAILURE")
			}
			return
		}
		fmt.Println("ACK", req.ID)
	}
}

// TestDiskFull fills the file system as far as the store can tell: a child
// process writes with its file size limit just above the store's size, so
// that bbolt's writes and growth fail with EFBIG as they would with ENOSPC.
// The failing Submit returns an error wrapping ErrFailed, nothing after it
// is accepted, and the file reopens (without the limit) holding every
// acknowledged request.
func TestDiskFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	st, reg := newRegistry(t, path)
	reg.Close()
	st.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestDiskFullChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), diskFullEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	acked := map[string]exclusion.Status{}
	var failure string
	for sc := bufio.NewScanner(strings.NewReader(string(out))); sc.Scan(); {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "ACK "):
			acked[strings.TrimPrefix(line, "ACK ")] = exclusion.Pending
		case strings.HasPrefix(line, "FAILED "):
			failure = line
		case line == "ACCEPTED AFTER FAILURE":
			t.Fatal("the store accepted a write after a failed one")
		}
	}
	if failure == "" || !strings.Contains(failure, ErrFailed.Error()) || !strings.Contains(failure, "file too large") {
		t.Fatalf("no failure wrapping ErrFailed and EFBIG:\n%s", out)
	}
	if len(acked) == 0 {
		t.Fatalf("nothing acknowledged before the disk filled:\n%s", out)
	}
	reg = reopen(t, path, acked)
	defer reg.Close()
	t.Logf("%d requests acknowledged until %s; all there after reopening", len(acked), failure)
}

// contents returns every request and audit event of a registry, encoded,
// to compare two stores.
func contents(reg *exclusion.Registry) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	for r, err := range reg.Requests(context.Background()) {
		if err != nil {
			return "", err
		}
		_ = enc.Encode(r)
	}
	for ev, err := range reg.Audit(context.Background(), "") {
		if err != nil {
			return "", err
		}
		_ = enc.Encode(ev)
	}
	return b.String(), nil
}
