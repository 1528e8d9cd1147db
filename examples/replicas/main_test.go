package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/internal/pgtest"
)

// mainEnv makes the test binary run main (a replica process).
const mainEnv = "REPLICAS_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) != "" {
		main()
		os.Exit(0)
	}
	os.Exit(pgtest.Main(m))
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestOperatorApprovalReachesReplicas runs replica processes on one
// PostgreSQL registry and approves an opt-out the way the operator CLI
// does (registrydir with a postgres:// location): every replica blocks the
// face, live, and reports it on /index/status and /metrics.
func TestOperatorApprovalReachesReplicas(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t)
	emb := registrydir.Embedder{Embedder: idEmbedder{}, Name: "replicas-id"}
	reg, err := registrydir.Create(ctx, dsn, emb)
	if err != nil {
		t.Fatal(err)
	}
	req, err := reg.Submit(ctx, &exclusion.Submission{
		Kind: exclusion.FaceOptOut, Country: "DE", Reason: "replicas test", Name: "Jo",
		Email: "jo@example.org", Phone: "+4915123456789", Photos: []exclusion.Photo{{Data: photo(7)}},
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for i := range 3 {
		addr := freeAddr(t)
		cmd := exec.Command(os.Args[0], "serve", "-dsn", dsn, "-listen", addr)
		cmd.Env = append(os.Environ(), mainEnv+"=1")
		var logs bytes.Buffer
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("replica %d logs:\n%s", i, logs.String())
			}
		})
		addrs = append(addrs, addr)
	}
	check := func(addr string) (exclusion.Verdict, error) {
		b, _ := json.Marshal(map[string][]embed.Descriptor{"descriptors": {descriptor(7)}})
		resp, err := http.Post("http://"+addr+"/check", "application/json", bytes.NewReader(b))
		if err != nil {
			return exclusion.Unchecked, err
		}
		defer resp.Body.Close()
		var d struct {
			Verdict exclusion.Verdict `json:"verdict"`
		}
		err = json.NewDecoder(resp.Body).Decode(&d)
		return d.Verdict, err
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after a minute", what)
			}
		}
	}
	for _, addr := range addrs {
		wait("replica "+addr+" serving", func() bool { v, err := check(addr); return err == nil && v == exclusion.Allow })
	}

	// The operator CLI's approve: registrydir.Open on the same location.
	op, err := registrydir.Open(ctx, dsn, registrydir.Embedder{})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	if _, err := op.Approve(ctx, req.ID, "operator", ""); err != nil {
		t.Fatal(err)
	}
	for _, addr := range addrs {
		wait("replica "+addr+" blocks", func() bool { v, err := check(addr); return err == nil && v == exclusion.Block })
		resp, err := http.Get("http://" + addr + "/index/status")
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			Applied uint64 `json:"applied"`
			Faces   int    `json:"faces"`
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil || st.Applied != 1 || st.Faces != 1 {
			t.Errorf("replica %s status %+v, %v", addr, st, err)
		}
		resp, err = http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		found := map[string]bool{}
		for sc.Scan() {
			for _, m := range []string{"faceoptout_feed_applied_seq 1", "faceoptout_faces 1", `faceoptout_checks_total{op="faces",verdict="block"}`} {
				if strings.HasPrefix(sc.Text(), m) {
					found[m] = true
				}
			}
		}
		resp.Body.Close()
		if len(found) != 3 {
			t.Errorf("replica %s metrics: found %v", addr, found)
		}
	}
	if _, err := op.Withdraw(ctx, req.ID, "operator", ""); err != nil {
		t.Fatal(err)
	}
	for _, addr := range addrs {
		wait("replica "+addr+" allows after the withdrawal", func() bool { v, err := check(addr); return err == nil && v == exclusion.Allow })
	}
}
