// Package mailsink is a local SMTP server that keeps the messages it
// receives in memory, for the intake example's tests and local runs: mail
// the app sends to requesters can be read back (the confirmation link)
// without a real mail server.
//
// # Basics
//
//	s, err := mailsink.Start()   // listens on 127.0.0.1, a free port
//	defer s.Close()
//	// send with net/smtp.SendMail(s.Addr(), nil, from, to, msg)
//	m, err := s.Wait(ctx, "alice@example.org")
//
// It speaks the subset of SMTP that net/smtp's client uses (EHLO/HELO, MAIL,
// RCPT, DATA, RSET, NOOP, QUIT), without TLS or authentication.
//
// # Caveats
//
// Messages are kept until Close: it is not a mail server for production.
// It listens on the loopback interface only.
//
// # Security Considerations
//
// Clients are untrusted: lines are limited to 1,000 bytes, a message to
// MaxMessageBytes, recipients to 100 per message, the sink to MaxMessages
// messages, and every connection to a deadline; anything beyond is refused
// with an SMTP error, never buffered.
package mailsink
