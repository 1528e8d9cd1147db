package mailsink

import (
	"bufio"
	"context"
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"
)

func start(t *testing.T) *Sink {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSendMail(t *testing.T) {
	s := start(t)
	msg := "Subject: hello\r\n\r\nline one\r\n.leading dot\r\n"
	if err := smtp.SendMail(s.Addr(), nil, "app@example.org", []string{"Alice@Example.org", "bob@example.org"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := s.Wait(ctx, "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if m.From != "app@example.org" || len(m.To) != 2 {
		t.Errorf("envelope %q -> %q", m.From, m.To)
	}
	if got, want := m.Body(), "line one\n.leading dot\n"; got != want {
		t.Errorf("body %q, want %q", got, want)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestWaitTimesOut(t *testing.T) {
	s := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Wait(ctx, "nobody@example.org"); err == nil {
		t.Fatal("Wait returned a message that was never sent")
	}
}

func TestCloseWakesWait(t *testing.T) {
	s := start(t)
	done := make(chan error, 1)
	go func() {
		_, err := s.Wait(context.Background(), "x@example.org")
		done <- err
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != ErrClosed {
		t.Errorf("Wait after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// session sends lines to the sink and returns its replies' codes.
func session(t *testing.T, s *Sink, lines []string) []string {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	var codes []string
	readReply := func() bool {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return false
			}
			if len(l) >= 4 && l[3] == ' ' {
				codes = append(codes, l[:3])
				return true
			}
		}
	}
	readReply() // greeting
	codes = nil
	for _, l := range lines {
		if _, err := c.Write([]byte(l + "\r\n")); err != nil {
			break
		}
		if strings.HasPrefix(l, "body:") {
			continue
		}
		if !readReply() {
			break
		}
	}
	return codes
}

func TestProtocolErrors(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string // codes of the replies after the greeting
	}{
		{"rcpt before mail", []string{"HELO x", "RCPT TO:<a@b>"}, "250 503"},
		{"data before rcpt", []string{"HELO x", "MAIL FROM:<a@b>", "DATA"}, "250 250 503"},
		{"bad mail syntax", []string{"MAIL FROM:a@b"}, "501"},
		{"unknown command", []string{"VRFY root"}, "502"},
		{"line too long", []string{"NOOP " + strings.Repeat("x", 2000)}, "500"},
		{"rset", []string{"MAIL FROM:<a@b>", "RSET", "RCPT TO:<c@d>"}, "250 250 503"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t)
			if got := strings.Join(session(t, s, tc.lines), " "); got != tc.want {
				t.Errorf("replies %q, want %q", got, tc.want)
			}
			if n := len(s.Messages()); n != 0 {
				t.Errorf("%d messages stored", n)
			}
		})
	}
}

func TestTooManyRecipients(t *testing.T) {
	s := start(t)
	lines := []string{"HELO x", "MAIL FROM:<a@b>"}
	for i := range maxRcpt + 1 {
		lines = append(lines, "RCPT TO:<r"+strings.Repeat("x", i%5)+"@b>")
	}
	codes := session(t, s, lines)
	if last := codes[len(codes)-1]; last != "452" {
		t.Errorf("recipient %d: %s, want 452", maxRcpt+1, last)
	}
}

// FuzzSession feeds arbitrary client input to a session: the sink must
// neither panic nor hang.
func FuzzSession(f *testing.F) {
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n"))
	f.Add([]byte("MAIL FROM:<\r\nRCPT TO:>\r\nDATA\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s := &Sink{conns: map[net.Conn]struct{}{}, changed: make(chan struct{})}
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() { s.serve(server); _ = server.Close(); close(done) }()
		go func() { _, _ = client.Write(in); _ = client.Close() }()
		go func() {
			buf := make([]byte, 4096)
			for {
				if _, err := client.Read(buf); err != nil {
					return
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("session hung")
		}
	})
}
