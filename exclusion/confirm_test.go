package exclusion_test

import (
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// confirmingRegistry returns a registry that requires confirmation within
// an hour, on a clock the test moves (each reading adds a second).
func confirmingRegistry(t *testing.T, emb embed.Embedder) (*exclusion.Registry, *clock) {
	t.Helper()
	cfg := exclusion.DefaultConfig()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg.Now = c.now
	cfg.Confirm = exclusion.ConfirmConfig{Required: true, Within: time.Hour}
	reg, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), emb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	return reg, c
}

func TestConfirm(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := confirmingRegistry(t, emb)
	req := mustSubmit(t, reg, faceSubmission(photo(person(1))))
	if req.Status != exclusion.Unconfirmed {
		t.Fatalf("submitted as %s, want unconfirmed", req.Status)
	}
	f := newFilter(t, reg, emb)

	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"approve before confirmation", func() error { _, err := reg.Approve(ctx, req.ID, "reviewer", ""); return err }, exclusion.ErrTransition},
		{"reject before confirmation", func() error { _, err := reg.Reject(ctx, req.ID, "reviewer", ""); return err }, exclusion.ErrTransition},
		{"pick before confirmation", func() error { _, err := reg.Pick(ctx, req.ID, 0, person(1).Box, "reviewer"); return err }, exclusion.ErrTransition},
		{"confirm an unknown id", func() error { _, err := reg.Confirm(ctx, "NOPE", "requester"); return err }, exclusion.ErrNotFound},
		{"confirm without actor", func() error { _, err := reg.Confirm(ctx, req.ID, ""); return err }, exclusion.ErrInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.do(), tc.want) })
	}
	wantVerdict(t, f.CheckImageBytes(ctx, photo(person(1))), exclusion.Allow)

	got, err := reg.Confirm(ctx, req.ID, "requester (e-mail link)")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != exclusion.Pending {
		t.Fatalf("confirmed request is %s, want pending", got.Status)
	}
	_, err = reg.Confirm(ctx, req.ID, "requester (e-mail link)")
	wantErr(t, err, exclusion.ErrTransition)
	mustApprove(t, reg, req.ID)
	wantVerdict(t, f.CheckImageBytes(ctx, photo(person(1))), exclusion.Block, req.ID)

	var log []string
	for ev, err := range reg.Audit(ctx, req.ID) {
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, string(ev.Action)+":"+string(ev.From)+">"+string(ev.To))
	}
	want := []string{"submit:>unconfirmed", "confirm:unconfirmed>pending", "approve:pending>approved"}
	if len(log) != len(want) {
		t.Fatalf("audit %v, want %v", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Errorf("audit[%d] %s, want %s", i, log[i], want[i])
		}
	}
}

func TestConfirmNotRequired(t *testing.T) {
	reg, _ := newRegistry(t, &exclusiontest.Embedder{})
	req := mustSubmit(t, reg, faceSubmission(photo(person(1))))
	if req.Status != exclusion.Pending {
		t.Fatalf("status %s, want pending (zero Config.Confirm)", req.Status)
	}
	_, err := reg.Confirm(ctx, req.ID, "requester")
	wantErr(t, err, exclusion.ErrTransition)
}

func TestExpireUnconfirmed(t *testing.T) {
	reg, c := confirmingRegistry(t, &exclusiontest.Embedder{})
	old := mustSubmit(t, reg, faceSubmission(photo(person(1))))
	confirmed := mustSubmit(t, reg, faceSubmission(photo(person(2))))
	if _, err := reg.Confirm(ctx, confirmed.ID, "requester"); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(2 * time.Hour)
	fresh := mustSubmit(t, reg, faceSubmission(photo(person(3))))
	st, err := reg.Expire(ctx, "expiry")
	if err != nil {
		t.Fatal(err)
	}
	if st.Unconfirmed != 1 {
		t.Errorf("expired %d, want 1", st.Unconfirmed)
	}
	for _, tc := range []struct {
		name string
		id   string
		want exclusion.Status
	}{
		{"unconfirmed for two hours", old.ID, exclusion.Withdrawn},
		{"confirmed", confirmed.ID, exclusion.Pending},
		{"unconfirmed, just submitted", fresh.ID, exclusion.Unconfirmed},
	} {
		r, err := reg.Get(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, r.Status, tc.want)
		}
		if tc.want == exclusion.Withdrawn {
			for _, f := range r.Photos[0].Faces {
				if len(f.Descriptors) != 0 {
					t.Errorf("%s: descriptors kept after expiry", tc.name)
				}
			}
		}
	}
}
