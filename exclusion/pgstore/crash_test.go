package pgstore_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
	"github.com/faceoptout/faceoptout/exclusion/pgstore"
	"github.com/faceoptout/faceoptout/internal/pgtest"
)

var kills = flag.Int("pgstore.kills", 200, "kill -9 rounds of TestKillNine")

// crash child environment: the DSN and schema of the registry to write to.
const (
	crashDSN    = "PGSTORE_CRASH_CHILD_DSN"
	crashSchema = "PGSTORE_CRASH_CHILD_SCHEMA"
)

// TestCrashChild is the child of TestKillNine: it submits (and approves
// every other) request in a loop and prints each acknowledged id the moment
// the call returns, until it is killed.
func TestCrashChild(t *testing.T) {
	dsn := os.Getenv(crashDSN)
	if dsn == "" {
		t.Skip("run by TestKillNine")
	}
	ctx := context.Background()
	cfg := pgstore.DefaultConfig()
	cfg.DSN, cfg.Schema = dsn, os.Getenv(crashSchema)
	st, err := pgstore.Open(ctx, cfg)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	reg, err := pgstore.OpenRegistry(ctx, st, &exclusiontest.Embedder{}, exclusion.DefaultConfig())
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	for i := 0; ; i++ {
		req, err := reg.Submit(ctx, submission(i%32), "crash-test")
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		fmt.Println("S", req.ID)
		if i%2 == 1 {
			if _, err := reg.Approve(ctx, req.ID, "crash-test", ""); err != nil {
				fmt.Println("ERR", err)
				os.Exit(3)
			}
			fmt.Println("A", req.ID)
		}
	}
}

func submission(i int) *exclusion.Submission {
	img := exclusiontest.PNG(exclusiontest.Image(160, 160, exclusiontest.Face{Box: rect, Color: person(i)}))
	return &exclusion.Submission{
		Kind: exclusion.FaceOptOut, Country: "NL", Reason: "crash test", Name: "Kim",
		Email: "kim@example.nl", Phone: "+31612345678", Photos: []exclusion.Photo{{Data: img}},
	}
}

// TestKillNine kills a writing child process (the writer) with SIGKILL at a
// random moment after its first acknowledgement, -pgstore.kills times (200),
// and checks after each kill that the registry opens cleanly (checksums,
// counts) and holds every acknowledged request in its acknowledged state,
// and that the feed lists every acknowledged approval.
func TestKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	dsn := pgtest.Database(t)
	f := newRegistry(t, dsn)
	if err := f.writer.Close(); err != nil {
		t.Fatal(err)
	}
	submitted := map[string]bool{}
	approved := map[string]bool{}
	total := 0
	start := time.Now()
	for round := range *kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDSN+"="+dsn, crashSchema+"="+f.schema)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		var killAt <-chan time.Time
		timeout := time.After(2 * time.Minute)
		acks := 0
	read:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break read
				}
				kind, id, _ := strings.Cut(line, " ")
				switch kind {
				case "S":
					submitted[id] = true
				case "A":
					approved[id] = true
				case "ERR":
					t.Fatalf("round %d: child: %s", round, line)
				default:
					continue // test framework output
				}
				if acks++; acks == 1 {
					killAt = time.After(time.Duration(rand.IntN(50_000)) * time.Microsecond)
				}
			case <-killAt:
				_ = cmd.Process.Signal(syscall.SIGKILL)
				killAt = nil
			case <-timeout:
				_ = cmd.Process.Kill()
				t.Fatalf("round %d: child made no progress", round)
			}
		}
		_ = cmd.Wait()
		total += acks

		reg, err := pgstore.OpenRegistry(ctx, f.store(t), f.emb, exclusion.DefaultConfig())
		if err != nil {
			t.Fatalf("round %d: reopening after kill -9: %v", round, err)
		}
		for id := range submitted {
			req, err := reg.Get(ctx, id)
			if err != nil {
				t.Fatalf("round %d: acknowledged request %s lost: %v", round, id, err)
			}
			if approved[id] && req.Status != exclusion.Approved {
				t.Fatalf("round %d: acknowledged approval of %s lost: %s", round, id, req.Status)
			}
		}
		if err := reg.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// The feed holds every acknowledged approval.
	st := f.store(t)
	defer st.Close()
	inFeed := map[string]bool{}
	for after := uint64(0); ; {
		cs, err := st.Changes(ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			inFeed[c.RequestID] = true
			after = c.Seq
		}
		if len(cs) < 1000 {
			break
		}
	}
	for id := range approved {
		if !inFeed[id] {
			t.Fatalf("acknowledged approval %s has no feed entry", id)
		}
	}
	t.Logf("%d kills of the writer, %d acknowledged writes (%d submissions, %d approvals), none lost, every approval in the feed (%.0f s)",
		*kills, total, len(submitted), len(approved), time.Since(start).Seconds())
}
