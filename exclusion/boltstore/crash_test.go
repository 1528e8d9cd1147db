package boltstore_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/boltstore"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// crashEnv names the registry file a re-executed test binary writes to.
const crashEnv = "BOLTSTORE_CRASH_CHILD_DB"

// kills is the number of rounds of TestKillNine: 200 in CI; the long run is
//
//	go test -run '^TestKillNine$' -boltstore.kills 2000 -timeout 2h ./exclusion/boltstore/
var kills = flag.Int("boltstore.kills", 200, "rounds of kill -9 in TestKillNine")

// TestCrashChild is the child of TestKillNine: it submits (and approves
// every other) request in a loop and prints each acknowledged id the moment
// the call returns, until it is killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestKillNine")
	}
	ctx := context.Background()
	st, err := boltstore.Open(path, boltstore.Config{})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	emb := &exclusiontest.Embedder{}
	reg, err := exclusion.Open(ctx, st, emb, exclusion.DefaultConfig())
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	face := exclusiontest.PNG(exclusiontest.Image(160, 160, exclusiontest.Face{Box: image.Rect(20, 20, 140, 140), Color: exclusiontest.Person(5)}))
	for i := 0; ; i++ {
		sub := &exclusion.Submission{
			Kind: exclusion.FaceOptOut, Country: "NL", Reason: "crash test", Name: "Kim",
			Email: "kim@example.nl", Phone: "+31612345678", Photos: []exclusion.Photo{{Data: face}},
		}
		req, err := reg.Submit(ctx, sub, "crash-test")
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

// TestKillNine kills a writing child process with SIGKILL at a random moment
// after its first acknowledgement, -boltstore.kills times (200), and checks after each kill
// that the registry opens cleanly (checksums, counts) and holds every
// acknowledged request in its acknowledged state.
func TestKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	st, err := boltstore.Create(path, boltstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := exclusion.Create(ctx, st, &exclusiontest.Embedder{}, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	rounds := *kills
	submitted := map[string]bool{}
	approved := map[string]bool{}
	total := 0
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
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
		timeout := time.After(30 * time.Second)
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
					killAt = time.After(time.Duration(rand.IntN(20_000)) * time.Microsecond)
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

		st, err := boltstore.Open(path, boltstore.Config{})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		reg, err := exclusion.Open(ctx, st, nil, exclusion.DefaultConfig())
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
		if got, want := reg.Len(), len(approved); got < want {
			t.Fatalf("round %d: %d faces block, %d approvals were acknowledged", round, got, want)
		}
		if err := reg.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d kills, %d acknowledged writes (%d submissions, %d approvals), none lost", rounds, total, len(submitted), len(approved))
}
