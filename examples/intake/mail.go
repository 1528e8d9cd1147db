package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"strings"
	"time"
)

// Mail is one plain-text message to a requester.
type Mail struct {
	To, Subject, Body string
}

// Mailer sends mail to requesters. Implementations are safe for concurrent
// use.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// SMTPMailer sends through an SMTP server without authentication: the
// host's mail relay (or, in tests and local runs, a mailsink). It upgrades
// to TLS when the server offers STARTTLS.
type SMTPMailer struct {
	// Addr is the server's "host:port".
	Addr string
	// From is the envelope and header sender.
	From string
}

var _ Mailer = SMTPMailer{}

// Send sends m, within ctx's deadline (30 seconds at most).
func (s SMTPMailer) Send(ctx context.Context, m Mail) error {
	for _, v := range []string{s.From, m.To, m.Subject} {
		if strings.ContainsAny(v, "\r\n") {
			return errors.New("intake: mail header with a line break")
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("intake: mail: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("intake: mail: %w", err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("intake: mail: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("intake: mail: %w", err)
		}
	}
	if err := c.Mail(s.From); err != nil {
		return fmt.Errorf("intake: mail: %w", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fmt.Errorf("intake: mail: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("intake: mail: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
		s.From, m.To, m.Subject, time.Now().UTC().Format(time.RFC1123Z))
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n"))
	if _, err := w.Write([]byte(b.String())); err != nil {
		return fmt.Errorf("intake: mail: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("intake: mail: %w", err)
	}
	return c.Quit()
}
