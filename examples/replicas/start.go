package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/pgstore"
	"github.com/faceoptout/faceoptout/internal/pgcluster"
)

// startBench measures how long a replica takes to serve a registry of n
// approved face opt-outs, from the store (every request read, checked and
// indexed) and from its snapshot, and what a face check costs then.
func startBench(args []string) error {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	n := fs.Int("n", 100000, "approved face opt-outs (one face each)")
	dsn := fs.String("dsn", "", "PostgreSQL to use (default: a throwaway cluster on loopback)")
	checks := fs.Int("checks", 2000, "CheckFaces timed after each start")
	out := fs.String("out", "", "also write the report to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	if *dsn == "" {
		c, err := pgcluster.Start(ctx, pgcluster.DefaultConfig())
		if err != nil {
			return err
		}
		defer c.Remove()
		*dsn = c.DSN("postgres")
	}
	var rep strings.Builder
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&rep, "# examples/replicas start\n\n%s, load average at start: %s\n\n", time.Now().UTC().Format(time.RFC3339), strings.TrimSpace(string(load)))
	schema := fmt.Sprintf("start%d", time.Now().UnixNano()%1e9)
	cfg := pgstore.DefaultConfig()
	cfg.DSN, cfg.Schema = *dsn, schema
	st, err := pgstore.Open(ctx, cfg)
	if err != nil {
		return err
	}
	reg, err := exclusion.Create(ctx, st, idEmbedder{}, exclusion.DefaultConfig())
	if err != nil {
		return err
	}
	if err := reg.Close(); err != nil {
		return err
	}
	t0 := time.Now()
	if err := fill(ctx, *dsn, schema, *n); err != nil {
		return err
	}
	fmt.Fprintf(&rep, "%d approved face opt-outs written to PostgreSQL in %.1f s (COPY, bench only)\n\n", *n, time.Since(t0).Seconds())
	dir, err := os.MkdirTemp("", "replicas-start-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	snap := filepath.Join(dir, "replica.snapshot")
	fmt.Fprintf(&rep, "| start | serving after | heap in use | heap per face | CheckFaces p50 | p99 | snapshot file |\n|---|---|---|---|---|---|---|\n")
	for _, from := range []string{"store", "snapshot"} {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		s, err := pgstore.Open(ctx, cfg)
		if err != nil {
			return err
		}
		rcfg := exclusion.DefaultReplicaConfig()
		rcfg.Snapshot = snap
		t := time.Now()
		p, err := exclusion.NewReplica(ctx, s, idEmbedder{}, rcfg)
		if err != nil {
			s.Close()
			return err
		}
		serving := time.Since(t)
		if got := p.Status().Loaded; got != from {
			p.Close()
			return fmt.Errorf("start from %s: the replica loaded from %s", from, got)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heap := int64(after.HeapInuse) - int64(before.HeapInuse)
		flt, err := exclusion.NewFilter(p.Registry(), idEmbedder{}, exclusion.DefaultFilterConfig())
		if err != nil {
			p.Close()
			return err
		}
		lat := make([]time.Duration, 0, *checks)
		for i := range *checks {
			id := i * 7919 % *n // enrolled faces and strangers, half and half
			if i%2 == 1 {
				id = 1<<23 + i
			}
			d := []embed.Descriptor{descriptor(id)}
			t := time.Now()
			v := flt.CheckFaces(ctx, d).Verdict
			lat = append(lat, time.Since(t))
			if want := exclusion.Block; i%2 == 0 && v != want {
				p.Close()
				return fmt.Errorf("enrolled face %d: %s", id, v)
			}
		}
		slices.Sort(lat)
		// Wait for the snapshot the first start writes in the background.
		for deadline := time.Now().Add(5 * time.Minute); p.Status().SnapshotSeq == 0 && p.Status().Loaded == "store" && time.Now().Before(deadline); {
			if _, err := os.Stat(snap); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err := p.Close(); err != nil {
			return err
		}
		size := "-"
		if fi, err := os.Stat(snap); err == nil {
			size = fmt.Sprintf("%.1f MB", float64(fi.Size())/1e6)
		}
		fmt.Fprintf(&rep, "| from the %s | %s | %.1f MB | %.0f B | %s | %s | %s |\n", from, fmtDur(serving),
			float64(heap)/1e6, float64(heap)/float64(*n), fmtDur(lat[len(lat)/2]), fmtDur(lat[len(lat)*99/100]), size)
	}
	fmt.Print(rep.String())
	if *out != "" {
		return os.WriteFile(*out, []byte(rep.String()), 0o644)
	}
	return nil
}

// fill writes n approved face opt-outs straight into the schema's tables
// with COPY (what n Submit and Approve calls would store, checksums
// included), and the counts to match. Bench only: it knows pgstore's
// layout.
func fill(ctx context.Context, dsn, schema string, n int) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		req := approvedRequest(i, t)
		b, err := json.Marshal(req)
		if err != nil {
			return nil, err
		}
		i++
		return []any{req.ID, int64(req.Version), string(req.Status), string(b)}, nil
	})
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{schema, "requests"}, []string{"id", "version", "status", "doc"}, src); err != nil {
		return err
	}
	counts := fmt.Sprintf(`{"requests":{"approved":%d},"faces":%d,"events":0}`, n, n)
	_, err = conn.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "meta"}.Sanitize()+` SET counts = $1`, counts)
	return err
}

// approvedRequest returns identity i's approved face opt-out as the
// Registry would store it.
func approvedRequest(i int, t time.Time) *exclusion.Request {
	sum := sha256.Sum256([]byte(fmt.Sprint("photo ", i)))
	r := &exclusion.Request{
		ID: fmt.Sprintf("S%09d", i), Version: 2, Kind: exclusion.FaceOptOut, Status: exclusion.Approved,
		Country: "DE", Reason: "replicas start bench", Name: fmt.Sprint("Person ", i), Email: "bench@example.org", Phone: "+4915123456789",
		Created: t, Updated: t, Decided: t,
		Photos: []exclusion.PhotoRecord{{
			SHA256: hex.EncodeToString(sum[:]), Width: 64, Height: 64, Format: "png",
			Faces: []exclusion.FaceRecord{{
				Box: image.Rect(0, 0, 64, 64), Quality: embed.Quality{Size: 64, Sharpness: 100, Score: 1}, Enrolled: true,
				Descriptors: map[string]embed.Descriptor{idModel.ID: descriptor(i)},
			}},
		}},
	}
	c := *r
	b, _ := json.Marshal(&c)
	s := sha256.Sum256(b)
	r.Checksum = hex.EncodeToString(s[:])
	return r
}
