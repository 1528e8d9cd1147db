package exclusion_test

import (
	"bytes"
	"image"
	"reflect"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

func TestAuditHash(t *testing.T) {
	ev := exclusion.AuditEvent{Seq: 1, Time: time.Date(2026, 3, 1, 12, 0, 0, 5000, time.UTC), Actor: "a", RequestID: "R", Action: exclusion.ActionSubmit, To: exclusion.Pending}
	base := exclusion.AuditHash("", ev)
	inZone := ev
	inZone.Time = ev.Time.In(time.FixedZone("X", -7*3600))
	withHash := ev
	withHash.Hash = "anything"
	for _, tc := range []struct {
		name string
		prev string
		ev   exclusion.AuditEvent
		same bool
	}{
		{"same event", "", ev, true},
		{"time in another zone", "", inZone, true},
		{"its own hash is not covered", "", withHash, true},
		{"another actor", "", func() exclusion.AuditEvent { e := ev; e.Actor = "b"; return e }(), false},
		{"another seq", "", func() exclusion.AuditEvent { e := ev; e.Seq = 2; return e }(), false},
		{"another note", "", func() exclusion.AuditEvent { e := ev; e.Note = "x"; return e }(), false},
		{"another time", "", func() exclusion.AuditEvent { e := ev; e.Time = e.Time.Add(time.Microsecond); return e }(), false},
		{"another predecessor", base, ev, false},
		{"a predecessor that is not hex", "zz", ev, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exclusion.AuditHash(tc.prev, tc.ev); (got == base) != tc.same {
				t.Fatalf("hash %s, base %s, want same=%v", got, base, tc.same)
			}
		})
	}
}

func TestVerifyAudit(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	head, err := reg.VerifyAudit(ctx)
	if err != nil || head != (exclusion.AuditHead{}) {
		t.Fatalf("empty log: %+v, %v", head, err)
	}
	reqs := enrolSample(t, reg)
	if _, err := reg.Withdraw(ctx, reqs[0].ID, "requester", "changed my mind"); err != nil {
		t.Fatal(err)
	}
	head, err = reg.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := reg.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head.Events != st.Events || head.Seq != uint64(st.Events) || len(head.Hash) != 64 {
		t.Fatalf("head %+v, %d events stored", head, st.Events)
	}
}

// TestAuditHoldsNoBiometrics runs the whole workflow and finds no
// descriptor, image hash or image data in the audit log.
func TestAuditHoldsNoBiometrics(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	reqs := enrolSample(t, reg)
	two := mustSubmit(t, reg, faceSubmission(photo(person(1), at(person(2), 130, 20))))
	if _, err := reg.Pick(ctx, two.ID, 0, image.Rect(130, 20, 230, 120), "reviewer"); err != nil {
		t.Fatal(err)
	}
	picked, err := reg.Get(ctx, two.ID)
	if err != nil {
		t.Fatal(err)
	}
	reqs = append(reqs, picked)
	if _, err := reg.Withdraw(ctx, reqs[0].ID, "requester", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Reject(ctx, reqs[2].ID, "reviewer", ""); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	n := 0
	for ev, err := range reg.Audit(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		log.Write(mustJSON(t, ev))
		n++
	}
	if n != 9 {
		t.Fatalf("%d events", n)
	}
	total := 0
	for _, req := range reqs {
		total += len(secrets(req))
		if got := found(log.Bytes(), secrets(req)); len(got) > 0 {
			t.Fatalf("the audit log holds %v of request %s:\n%s", got, req.ID, log.Bytes())
		}
	}
	t.Logf("%d audit events, %d bytes of JSON: 0 of %d secret patterns of %d requests found", n, log.Len(), total, len(reqs))
	// And its type has no room for them: strings, times and numbers only.
	typ := reflect.TypeFor[exclusion.AuditEvent]()
	for i := range typ.NumField() {
		switch k := typ.Field(i).Type.Kind(); k {
		case reflect.String, reflect.Uint64, reflect.Struct:
		default:
			t.Errorf("AuditEvent.%s is a %s", typ.Field(i).Name, k)
		}
	}
}
