package exclusiontest

import (
	"context"
	"errors"
	"fmt"
	"image"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
)

// TestStore runs the exclusion.Store contract against stores made by open,
// which must return a new, empty, uninitialised store for each call (the
// suite closes it).
func TestStore(t *testing.T, open func(t *testing.T) exclusion.Store) {
	t.Helper()
	ctx := context.Background()
	fresh := func(t *testing.T) exclusion.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	sampleModels := []embed.Model{Model(DefaultDim), Model(512)}
	ready := func(t *testing.T) exclusion.Store {
		t.Helper()
		s := fresh(t)
		must(t, s.Init(ctx, created, sampleModels))
		return s
	}

	t.Run("audit chain", func(t *testing.T) { testAuditChain(t, ready) })
	t.Run("uninitialised", func(t *testing.T) {
		s := fresh(t)
		_, err := s.Stats(ctx)
		is(t, err, exclusion.ErrNoRegistry)
		_, err = s.Get(ctx, "x")
		is(t, err, exclusion.ErrNoRegistry)
		err = s.Insert(ctx, SampleRequest("a", exclusion.Pending, 1), event("a", exclusion.ActionSubmit))
		is(t, err, exclusion.ErrNoRegistry)
	})
	t.Run("init twice", func(t *testing.T) {
		s := ready(t)
		is(t, s.Init(ctx, created, sampleModels), exclusion.ErrExists)
		st, err := s.Stats(ctx)
		must(t, err)
		truth(t, st.Created.Equal(created), "created %v, want %v", st.Created, created)
		eq(t, sampleModels, st.Models)
		eq(t, 0, st.Total())
	})
	t.Run("insert get round trip", func(t *testing.T) {
		s := ready(t)
		in := SampleRequest("r1", exclusion.Pending, 2)
		must(t, s.Insert(ctx, in, event("r1", exclusion.ActionSubmit)))
		out, err := s.Get(ctx, "r1")
		must(t, err)
		assertSameRequest(t, in, out)
	})
	t.Run("copies", func(t *testing.T) {
		s := ready(t)
		in := SampleRequest("r1", exclusion.Pending, 1)
		must(t, s.Insert(ctx, in, event("r1", exclusion.ActionSubmit)))
		in.Name = "changed after insert"
		in.Photos[0].Faces[0].Descriptors[Model(DefaultDim).ID][0] = 42
		out, err := s.Get(ctx, "r1")
		must(t, err)
		eq(t, "Jane Doe", out.Name)
		ne(t, float32(42), out.Photos[0].Faces[0].Descriptors[Model(DefaultDim).ID][0])
		out.Name = "changed after get"
		again, err := s.Get(ctx, "r1")
		must(t, err)
		eq(t, "Jane Doe", again.Name)
	})
	t.Run("duplicate insert", func(t *testing.T) {
		s := ready(t)
		must(t, s.Insert(ctx, SampleRequest("r1", exclusion.Pending, 1), event("r1", exclusion.ActionSubmit)))
		err := s.Insert(ctx, SampleRequest("r1", exclusion.Pending, 1), event("r1", exclusion.ActionSubmit))
		is(t, err, exclusion.ErrExists)
		st, err := s.Stats(ctx)
		must(t, err)
		eq(t, 1, st.Total())
		eq(t, 1, st.Events)
	})
	t.Run("not found", func(t *testing.T) {
		s := ready(t)
		_, err := s.Get(ctx, "nope")
		is(t, err, exclusion.ErrNotFound)
		r := SampleRequest("nope", exclusion.Approved, 1)
		r.Version = 2
		is(t, s.Update(ctx, r, event("nope", exclusion.ActionApprove)), exclusion.ErrNotFound)
	})
	t.Run("update and versions", func(t *testing.T) {
		s := ready(t)
		must(t, s.Insert(ctx, SampleRequest("r1", exclusion.Pending, 2), event("r1", exclusion.ActionSubmit)))
		up := SampleRequest("r1", exclusion.Approved, 2)
		up.Version = 2
		must(t, s.Update(ctx, up, event("r1", exclusion.ActionApprove)))
		got, err := s.Get(ctx, "r1")
		must(t, err)
		assertSameRequest(t, up, got)

		stale := SampleRequest("r1", exclusion.Rejected, 2)
		stale.Version = 2 // the stored version is 2: a lost update
		is(t, s.Update(ctx, stale, event("r1", exclusion.ActionReject)), exclusion.ErrConflict)
		skip := SampleRequest("r1", exclusion.Withdrawn, 0)
		skip.Version = 4
		is(t, s.Update(ctx, skip, event("r1", exclusion.ActionWithdraw)), exclusion.ErrConflict)
		got, err = s.Get(ctx, "r1")
		must(t, err)
		eq(t, exclusion.Approved, got.Status)
	})
	t.Run("stats", func(t *testing.T) {
		s := ready(t)
		for i, st := range []exclusion.Status{exclusion.Pending, exclusion.Pending, exclusion.Pending} {
			id := fmt.Sprint("r", i)
			must(t, s.Insert(ctx, SampleRequest(id, st, 3), event(id, exclusion.ActionSubmit)))
		}
		a := SampleRequest("r0", exclusion.Approved, 3)
		a.Version = 2
		must(t, s.Update(ctx, a, event("r0", exclusion.ActionApprove)))
		b := SampleRequest("r1", exclusion.Approved, 2)
		b.Version = 2
		must(t, s.Update(ctx, b, event("r1", exclusion.ActionApprove)))
		w := SampleRequest("r1", exclusion.Withdrawn, 0)
		w.Version = 3
		must(t, s.Update(ctx, w, event("r1", exclusion.ActionWithdraw)))
		st, err := s.Stats(ctx)
		must(t, err)
		eq(t, 1, st.Requests[exclusion.Pending])
		eq(t, 1, st.Requests[exclusion.Approved])
		eq(t, 1, st.Requests[exclusion.Withdrawn])
		eq(t, 0, st.Requests[exclusion.Rejected])
		eq(t, 3, st.Faces)
		eq(t, 6, st.Events)
		eq(t, 3, st.Total())
	})
	t.Run("requests", func(t *testing.T) {
		s := ready(t)
		want := map[string]bool{}
		for i := range 25 {
			id := fmt.Sprintf("req-%02d", i)
			want[id] = true
			must(t, s.Insert(ctx, SampleRequest(id, exclusion.Pending, 1), event(id, exclusion.ActionSubmit)))
		}
		got := map[string]bool{}
		for r, err := range s.Requests(ctx) {
			must(t, err)
			untrue(t, got[r.ID], "request %s yielded twice", r.ID)
			got[r.ID] = true
		}
		eq(t, want, got)
		n := 0
		for range s.Requests(ctx) {
			if n++; n == 3 {
				break
			}
		}
		eq(t, 3, n, "breaking out of Requests")
	})
	t.Run("audit", func(t *testing.T) {
		s := ready(t)
		must(t, s.Insert(ctx, SampleRequest("a", exclusion.Pending, 1), event("a", exclusion.ActionSubmit)))
		must(t, s.Insert(ctx, SampleRequest("b", exclusion.Pending, 1), event("b", exclusion.ActionSubmit)))
		a := SampleRequest("a", exclusion.Approved, 1)
		a.Version = 2
		ev := event("a", exclusion.ActionApprove)
		ev.Note = "looks right"
		must(t, s.Update(ctx, a, ev))
		var all []exclusion.AuditEvent
		for e, err := range s.Audit(ctx, "") {
			must(t, err)
			all = append(all, e)
		}
		mustLen(t, len(all), 3)
		for i := 1; i < len(all); i++ {
			truth(t, all[i].Seq > all[i-1].Seq, "audit order")
		}
		eq(t, []exclusion.Action{exclusion.ActionSubmit, exclusion.ActionSubmit, exclusion.ActionApprove},
			[]exclusion.Action{all[0].Action, all[1].Action, all[2].Action})
		eq(t, "looks right", all[2].Note)
		eq(t, "reviewer", all[2].Actor)
		truth(t, all[2].Time.Equal(ev.Time))
		var onlyA []exclusion.AuditEvent
		for e, err := range s.Audit(ctx, "a") {
			must(t, err)
			onlyA = append(onlyA, e)
		}
		mustLen(t, len(onlyA), 2)
		eq(t, "a", onlyA[1].RequestID)
	})
	t.Run("cancelled context", func(t *testing.T) {
		s := ready(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := s.Insert(cctx, SampleRequest("a", exclusion.Pending, 1), event("a", exclusion.ActionSubmit))
		is(t, err, context.Canceled)
		_, err = s.Get(ctx, "a")
		is(t, err, exclusion.ErrNotFound, "a cancelled insert stores nothing")
	})
	t.Run("close", func(t *testing.T) {
		s := ready(t)
		must(t, s.Insert(ctx, SampleRequest("a", exclusion.Pending, 1), event("a", exclusion.ActionSubmit)))
		must(t, s.Close())
		must(t, s.Close(), "Close is idempotent")
		_, err := s.Get(ctx, "a")
		is(t, err, exclusion.ErrClosed)
		_, err = s.Stats(ctx)
		is(t, err, exclusion.ErrClosed)
		err = s.Insert(ctx, SampleRequest("b", exclusion.Pending, 1), event("b", exclusion.ActionSubmit))
		is(t, err, exclusion.ErrClosed)
		for _, err := range s.Requests(ctx) {
			is(t, err, exclusion.ErrClosed)
		}
	})
	t.Run("concurrent writers", func(t *testing.T) {
		s := ready(t)
		var wg sync.WaitGroup
		const n = 8
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprint("c", i)
				if err := s.Insert(ctx, SampleRequest(id, exclusion.Pending, 1), event(id, exclusion.ActionSubmit)); err != nil {
					errs[i] = err
					return
				}
				r := SampleRequest(id, exclusion.Approved, 1)
				r.Version = 2
				errs[i] = s.Update(ctx, r, event(id, exclusion.ActionApprove))
			}()
		}
		// Two writers race for one version: exactly one wins.
		must(t, s.Insert(ctx, SampleRequest("race", exclusion.Pending, 1), event("race", exclusion.ActionSubmit)))
		wins := make(chan error, 2)
		for _, st := range []exclusion.Status{exclusion.Approved, exclusion.Rejected} {
			go func() {
				r := SampleRequest("race", st, 1)
				r.Version = 2
				wins <- s.Update(ctx, r, event("race", exclusion.ActionApprove))
			}()
		}
		e1, e2 := <-wins, <-wins
		wg.Wait()
		for _, err := range errs {
			check(t, err)
		}
		truth(t, (e1 == nil) != (e2 == nil), "one of two racing updates wins: %v, %v", e1, e2)
		truth(t, errors.Is(e1, exclusion.ErrConflict) || errors.Is(e2, exclusion.ErrConflict))
		st, err := s.Stats(ctx)
		must(t, err)
		eq(t, n+1, st.Total())
		eq(t, 2*n+2, st.Events)
	})
}

func event(id string, a exclusion.Action) exclusion.AuditEvent {
	return exclusion.AuditEvent{
		Time: time.Date(2026, 2, 3, 4, 5, 6, 7000, time.UTC), Actor: "reviewer", RequestID: id, Action: a,
	}
}

// SampleRequest returns a face opt-out with the given id and status and
// faces enrolled faces, at version 1, as a store would see it.
func SampleRequest(id string, st exclusion.Status, faces int) *exclusion.Request {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123000, time.UTC)
	r := &exclusion.Request{
		ID: id, Version: 1, Kind: exclusion.FaceOptOut, Status: st,
		Country: "DE", Reason: "Ich möchte nicht gefunden werden.", Name: "Jane Doe",
		Email: "jane@example.org", Phone: "+4915123456789", Threshold: 0.55,
		Created: t0, Updated: t0, Checksum: "sum-" + id,
	}
	if st != exclusion.Pending {
		r.Decided = t0.Add(time.Hour)
	}
	for i := range max(faces, 1) {
		d := map[string]embed.Descriptor{Model(DefaultDim).ID: Descriptor(Person(i)), Model(512).ID: DescriptorDim(Person(i), 512)}
		r.Photos = append(r.Photos, exclusion.PhotoRecord{
			SHA256: fmt.Sprintf("%064x", i+1), PHash: 0xfeedface00000000 | uint64(i), Width: 640, Height: 480, Format: "png",
			Faces: []exclusion.FaceRecord{{
				Box: image.Rect(10, 20, 110, 120), Quality: embed.Quality{Size: 100, Sharpness: 55.5, Score: 1.25, Pose: "frontal"},
				Enrolled: i < faces, Descriptors: d,
			}},
		})
	}
	return r
}

func assertSameRequest(t *testing.T, want, got *exclusion.Request) {
	t.Helper()
	truth(t, want.Created.Equal(got.Created) && want.Updated.Equal(got.Updated) && want.Decided.Equal(got.Decided), "times differ")
	w, g := *want, *got
	w.Created, w.Updated, w.Decided = time.Time{}, time.Time{}, time.Time{}
	g.Created, g.Updated, g.Decided = time.Time{}, time.Time{}, time.Time{}
	eq(t, w, g)
}

func must(t *testing.T, err error, msg ...any) {
	t.Helper()
	if err != nil {
		t.Fatal(append([]any{"unexpected error:", err}, msg...)...)
	}
}

func check(t *testing.T, err error, msg ...any) {
	t.Helper()
	if err != nil {
		t.Error(append([]any{"unexpected error:", err}, msg...)...)
	}
}

func is(t *testing.T, err, target error, msg ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Error(append([]any{fmt.Sprintf("error %v, want %v", err, target)}, msg...)...)
	}
}

func eq(t *testing.T, want, got any, msg ...any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Error(append([]any{fmt.Sprintf("got %+v\nwant %+v", got, want)}, msg...)...)
	}
}

func ne(t *testing.T, a, b any, msg ...any) {
	t.Helper()
	if reflect.DeepEqual(a, b) {
		t.Error(append([]any{fmt.Sprintf("got %+v, want something else", a)}, msg...)...)
	}
}

func truth(t *testing.T, ok bool, msg ...any) {
	t.Helper()
	if !ok {
		if len(msg) > 0 {
			if f, isStr := msg[0].(string); isStr {
				t.Errorf(f, msg[1:]...)
				return
			}
		}
		t.Error("condition failed")
	}
}

func untrue(t *testing.T, bad bool, msg ...any) { t.Helper(); truth(t, !bad, msg...) }

func mustLen(t *testing.T, got, want int) {
	t.Helper()
	if got != want {
		t.Fatalf("length %d, want %d", got, want)
	}
}
