// Package pgcluster starts throwaway PostgreSQL clusters on loopback for
// tests and measuring programs: initdb into a fresh directory, pg_ctl to
// start, stop and kill. No containers, nothing shared with a system cluster.
//
// # Basics
//
//	c, err := pgcluster.Start(ctx, pgcluster.DefaultConfig())
//	defer c.Remove()
//	dsn := c.DSN("postgres")
//
// The cluster listens on 127.0.0.1 on a free port, trusts local connections
// (it is reachable only from this machine, and lives as long as the test),
// and keeps fsync and synchronous commit on, so crash tests mean what they
// say. Run as root, the data directory is owned by, and the server runs as,
// the "postgres" system user (PostgreSQL refuses to run as root).
//
// # Caveats
//
// It needs Debian's postgresql-15 (or Config.BinDir pointing at another
// installation's initdb, pg_ctl and postgres). Starting a cluster takes a
// few seconds: tests share one per test binary (internal/pgtest).
//
// # Security Considerations
//
// Trust authentication on loopback: any local user can connect while the
// cluster runs. Use it for throwaway data only, never for a real registry.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrUnavailable means PostgreSQL's programs are not installed.
var ErrUnavailable = errors.New("pgcluster: PostgreSQL not installed")

// Config configures a cluster.
type Config struct {
	// BinDir holds initdb, pg_ctl and postgres; "" means
	// /usr/lib/postgresql/15/bin.
	BinDir string
	// Dir is the parent of the data directory; "" means a new directory
	// under os.TempDir, removed by Remove.
	Dir string
	// Port is the TCP port on 127.0.0.1; 0 means a free one.
	Port int
	// Settings are extra "name=value" server settings (postgres -c).
	Settings []string
}

// DefaultConfig returns the default configuration.
func DefaultConfig() Config { return Config{} }

// Cluster is a running (or stopped) throwaway cluster. Its methods are safe
// for concurrent use.
type Cluster struct {
	cfg     Config
	dir     string // parent of data, log and socket
	data    string
	port    int
	owned   bool // dir was made by Start and is removed by Remove
	asUser  string
	mu      sync.Mutex // serialises start, stop and kill
	running bool       // guarded by mu
}

// Start initialises a new cluster and starts it.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.BinDir == "" {
		cfg.BinDir = "/usr/lib/postgresql/15/bin"
	}
	for _, p := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(cfg.BinDir, p)); err != nil {
			return nil, fmt.Errorf("%w: %v (install Debian's postgresql-15)", ErrUnavailable, err)
		}
	}
	c := &Cluster{cfg: cfg, dir: cfg.Dir}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "pgcluster-")
		if err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
		c.dir, c.owned = d, true
	}
	c.data = filepath.Join(c.dir, "data")
	if os.Geteuid() == 0 {
		c.asUser = "postgres"
		u, err := user.Lookup(c.asUser)
		if err != nil {
			c.Remove()
			return nil, fmt.Errorf("pgcluster: running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			c.Remove()
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
		// The server must reach its directory through the parents.
		for p := filepath.Dir(c.dir); p != "/" && p != "."; p = filepath.Dir(p) {
			if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 {
				_ = os.Chmod(p, fi.Mode().Perm()|0o001)
			}
		}
	}
	out, err := c.run(ctx, filepath.Join(cfg.BinDir, "initdb"), "-D", c.data, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	if err != nil {
		c.Remove()
		return nil, fmt.Errorf("pgcluster: initdb: %w: %s", err, out)
	}
	c.port = cfg.Port
	if c.port == 0 {
		if c.port, err = freePort(); err != nil {
			c.Remove()
			return nil, err
		}
	}
	if err := c.Start(ctx); err != nil {
		c.Remove()
		return nil, err
	}
	return c, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run runs a PostgreSQL program, as the postgres user when root.
func (c *Cluster) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	var cmd *exec.Cmd
	if c.asUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.asUser, "--", prog}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, prog, args...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

// Port returns the TCP port the cluster listens on.
func (c *Cluster) Port() int { return c.port }

// DSN returns a connection string for database db as the superuser.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// Start starts a stopped cluster (Start already started it once) and waits
// until it accepts connections.
func (c *Cluster) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return nil
	}
	opts := []string{"-c listen_addresses=127.0.0.1", "-p " + strconv.Itoa(c.port),
		"-c unix_socket_directories=''", "-c fsync=on", "-c synchronous_commit=on", "-c max_connections=200"}
	for _, s := range c.cfg.Settings {
		opts = append(opts, "-c "+s)
	}
	out, err := c.run(ctx, filepath.Join(c.cfg.BinDir, "pg_ctl"), "-D", c.data, "-l", filepath.Join(c.dir, "server.log"),
		"-o", strings.Join(opts, " "), "-w", "-t", "60", "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		return fmt.Errorf("pgcluster: start: %w: %s\n%s", err, out, tail(log, 2000))
	}
	c.running = true
	return nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Stop stops the cluster cleanly (fast shutdown: connections are closed,
// committed data kept).
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil
	}
	out, err := c.run(ctx, filepath.Join(c.cfg.BinDir, "pg_ctl"), "-D", c.data, "-m", "fast", "-w", "stop")
	if err != nil {
		return fmt.Errorf("pgcluster: stop: %w: %s", err, out)
	}
	c.running = false
	return nil
}

// Kill sends SIGKILL to the postmaster (a crash: committed transactions
// survive, through the WAL, at the next Start).
func (c *Cluster) Kill() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("pgcluster: kill: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return fmt.Errorf("pgcluster: kill: postmaster.pid: %w", err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("pgcluster: kill: %w", err)
	}
	// Wait until the postmaster is gone and its children, which notice its
	// death, have left the shared memory the next start checks.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && (alive(pid) || children(pid)) {
		time.Sleep(50 * time.Millisecond)
	}
	c.running = false
	return nil
}

// alive reports whether process pid exists, zombies included (the next
// postmaster's lock-file check counts them as running).
func alive(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}

// children reports whether a live process has parent pid.
func children(pid int) bool {
	ents, _ := os.ReadDir("/proc")
	want := " " + strconv.Itoa(pid) + " "
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		_, rest, _ := strings.Cut(string(b), ") ")
		// rest: "S ppid ..."
		if len(rest) > 2 && strings.HasPrefix(rest[1:], want) && !strings.HasPrefix(rest, "Z") {
			return true
		}
	}
	return false
}

// Remove stops the cluster (fast) and deletes its directory if Start made
// it. It is idempotent.
func (c *Cluster) Remove() {
	if c.data != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_ = c.Stop(ctx)
		cancel()
	}
	if c.owned && c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}
