package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/faceoptout/faceoptout/exclusion"
)

// seen is a replica's report that identity id reached the wanted verdict.
type seen struct {
	replica, id int
	verdict     string
	at          time.Time
}

// child is one replica process driven through its stdin/stdout protocol.
type child struct {
	n    int
	args []string
	logw io.Writer
	seen chan<- seen

	mu      sync.Mutex // guards cmd, in, replies, started, ready
	cmd     *exec.Cmd
	in      io.WriteCloser
	replies chan string // C, S and Q lines
	started time.Time
	ready   time.Time
}

func (c *child) start() error {
	cmd := exec.Command(os.Args[0], append([]string{"serve", "-control"}, c.args...)...)
	cmd.Stderr = c.logw
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.started = time.Now()
	c.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	replies := make(chan string, 1<<16)
	readyc := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		gotReady := false
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "READY"):
				gotReady = true
				readyc <- nil
			case strings.HasPrefix(line, "R "):
				f := strings.Fields(line)
				if len(f) == 4 {
					id, _ := strconv.Atoi(f[1])
					ns, _ := strconv.ParseInt(f[3], 10, 64)
					c.seen <- seen{c.n, id, f[2], time.Unix(0, ns)}
				}
			default:
				replies <- line
			}
		}
		if !gotReady {
			readyc <- fmt.Errorf("replica %d exited before it was ready", c.n)
		}
		close(replies)
	}()
	select {
	case err := <-readyc:
		if err != nil {
			return err
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		return fmt.Errorf("replica %d: not ready after 2 minutes", c.n)
	}
	c.mu.Lock()
	c.cmd, c.in, c.replies, c.ready = cmd, in, replies, time.Now()
	c.mu.Unlock()
	return nil
}

// send writes one command line.
func (c *child) send(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.in != nil {
		fmt.Fprintf(c.in, format+"\n", args...)
	}
}

// ask sends a command and returns its reply line.
func (c *child) ask(ctx context.Context, cmd string) (string, error) {
	c.mu.Lock()
	replies := c.replies
	c.mu.Unlock()
	c.send("%s", cmd)
	select {
	case line, ok := <-replies:
		if !ok {
			return "", fmt.Errorf("replica %d is gone", c.n)
		}
		return line, nil
	case <-ctx.Done():
		return "", ctx.Err()
	case <-time.After(time.Minute):
		return "", fmt.Errorf("replica %d: no reply to %s", c.n, cmd)
	}
}

func (c *child) status(ctx context.Context) (exclusion.ReplicaStatus, error) {
	var s exclusion.ReplicaStatus
	line, err := c.ask(ctx, "S")
	if err != nil {
		return s, err
	}
	err = json.Unmarshal([]byte(strings.TrimPrefix(line, "S ")), &s)
	return s, err
}

// kill sends SIGKILL and waits for the process.
func (c *child) kill() {
	c.mu.Lock()
	cmd := c.cmd
	c.in = nil
	c.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
}

// stop closes stdin (the replica exits) and waits.
func (c *child) stop() {
	c.mu.Lock()
	cmd, in := c.cmd, c.in
	c.in = nil
	c.mu.Unlock()
	if in != nil {
		in.Close()
	}
	if cmd != nil {
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
}
