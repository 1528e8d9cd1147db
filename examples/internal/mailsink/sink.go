package mailsink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// Limits on what a client may send.
const (
	// MaxMessageBytes is the largest message (DATA) accepted.
	MaxMessageBytes = 1 << 20
	// MaxMessages is how many messages the sink keeps; later ones are
	// refused.
	MaxMessages = 1000
	maxRcpt     = 100
	maxLine     = 1000
	connTimeout = 30 * time.Second
)

// ErrClosed is returned by Wait after Close.
var ErrClosed = errors.New("mailsink: closed")

// Message is one message the sink received.
type Message struct {
	// From and To are the envelope's sender and recipients.
	From string
	To   []string
	// Data is the message (headers and body) as sent, with dot-stuffing
	// removed and line ends turned into "\n".
	Data []byte
}

// Body returns the message's body: Data after the first empty line.
func (m Message) Body() string {
	s := string(m.Data)
	if i := strings.Index(s, "\n\n"); i >= 0 {
		return s[i+2:]
	}
	return s
}

// Sink is a running SMTP server. Its methods are safe for concurrent use.
type Sink struct {
	l  net.Listener
	wg sync.WaitGroup // connection handlers and the accept loop

	mu     sync.Mutex // guards msgs, conns, closed and changed
	msgs   []Message
	conns  map[net.Conn]struct{}
	closed bool
	// changed is closed and replaced whenever a message arrives or the sink
	// closes, waking Wait.
	changed chan struct{}
}

// Start starts a sink on 127.0.0.1 at a free port.
func Start() (*Sink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mailsink: %w", err)
	}
	s := &Sink{l: l, conns: map[net.Conn]struct{}{}, changed: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr returns the sink's "host:port".
func (s *Sink) Addr() string { return s.l.Addr().String() }

// Messages returns a copy of the messages received so far, in order.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait returns the first message addressed to rcpt (compared without case)
// received since the sink started, waiting for it until ctx is done.
func (s *Sink) Wait(ctx context.Context, rcpt string) (Message, error) {
	for {
		s.mu.Lock()
		for _, m := range s.msgs {
			for _, t := range m.To {
				if strings.EqualFold(t, rcpt) {
					s.mu.Unlock()
					return m, nil
				}
			}
		}
		closed, ch := s.closed, s.changed
		s.mu.Unlock()
		if closed {
			return Message{}, ErrClosed
		}
		select {
		case <-ctx.Done():
			return Message{}, fmt.Errorf("mailsink: no message to %s: %w", rcpt, ctx.Err())
		case <-ch:
		}
	}
}

// Close stops the sink and its connections and waits for them. It is
// idempotent.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.changed)
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	err := s.l.Close()
	s.wg.Wait()
	return err
}

func (s *Sink) accept() {
	defer s.wg.Done()
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			_ = c.Close()
		}()
	}
}

// add stores a message; false when the sink is full or closed.
func (s *Sink) add(m Message) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.msgs) >= MaxMessages {
		return false
	}
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
	return true
}

// errLine is a line longer than maxLine.
var errLine = errors.New("line too long")

// readLine reads one CRLF- or LF-terminated line of at most maxLine bytes.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return "", err
		}
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", errLine
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

// serve speaks SMTP on one connection.
func (s *Sink) serve(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(connTimeout))
	r := bufio.NewReaderSize(c, 4096)
	w := textproto.NewWriter(bufio.NewWriter(c))
	reply := func(format string, args ...any) bool { return w.PrintfLine(format, args...) == nil }
	if !reply("220 mailsink ESMTP") {
		return
	}
	var from string
	var to []string
	inMail := false
	for {
		line, err := readLine(r)
		if errors.Is(err, errLine) {
			reply("500 line too long")
			return
		}
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			if !reply("250-mailsink\r\n250 8BITMIME") {
				return
			}
		case "HELO":
			reply("250 mailsink")
		case "NOOP":
			reply("250 ok")
		case "RSET":
			from, to, inMail = "", nil, false
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		case "MAIL":
			addr, ok := pathArg(arg, "FROM:")
			if !ok {
				reply("501 syntax: MAIL FROM:<address>")
				continue
			}
			from, to, inMail = addr, nil, true
			reply("250 ok")
		case "RCPT":
			addr, ok := pathArg(arg, "TO:")
			switch {
			case !inMail:
				reply("503 MAIL first")
			case !ok || addr == "":
				reply("501 syntax: RCPT TO:<address>")
			case len(to) >= maxRcpt:
				reply("452 too many recipients")
			default:
				to = append(to, addr)
				reply("250 ok")
			}
		case "DATA":
			if !inMail || len(to) == 0 {
				reply("503 MAIL and RCPT first")
				continue
			}
			if !reply("354 end with <CRLF>.<CRLF>") {
				return
			}
			data, err := io.ReadAll(io.LimitReader(textproto.NewReader(r).DotReader(), MaxMessageBytes+1))
			if err != nil {
				return
			}
			if len(data) > MaxMessageBytes {
				reply("552 message too large")
				return
			}
			if !s.add(Message{From: from, To: to, Data: data}) {
				reply("452 mailbox full")
			} else {
				reply("250 ok: queued")
			}
			from, to, inMail = "", nil, false
		default:
			reply("502 command not implemented")
		}
	}
}

// pathArg parses "FROM:<addr> [params]" (prefix FROM: or TO:).
func pathArg(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}
