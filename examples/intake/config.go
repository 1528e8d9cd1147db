package main

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config configures the intake app.
type Config struct {
	// ReviewerToken is the reviewers' password (HTTP basic auth, any user
	// name, recorded in the audit log); "" disables the reviewer pages.
	ReviewerToken string
	// Key signs confirmation links and CSRF tokens: at least 32 random
	// bytes, kept secret and stable across restarts (links already mailed
	// stop working when it changes).
	Key []byte
	// BaseURL is the app's public URL, the prefix of the links in mail,
	// e.g. "https://optout.example.com". An https URL also marks cookies
	// Secure.
	BaseURL string
	// LinkTTL is how long a confirmation link works.
	LinkTTL time.Duration
	// From is the sender address of the app's mail.
	From string
	// PerAddress and PerClient limit the requests submitted per e-mail
	// address and per client (IP address, IPv6 /64) within Window; 0 means
	// no limit.
	PerAddress, PerClient int
	Window                time.Duration
	// TrustProxy takes the client's address from the last
	// X-Forwarded-For entry (set it only behind a proxy that sets it).
	TrustProxy bool
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults: links valid 48 hours, 3 requests per
// address and 10 per client per hour. Key, BaseURL and From must be set.
func DefaultConfig() Config {
	return Config{LinkTTL: 48 * time.Hour, PerAddress: 3, PerClient: 10, Window: time.Hour}
}

func (c *Config) validate() error {
	if len(c.Key) < 32 {
		return fmt.Errorf("intake: the signing key has %d bytes, want at least 32", len(c.Key))
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("intake: BaseURL %q: want http(s)://host[:port]", c.BaseURL)
	}
	if c.From == "" {
		return errors.New("intake: no sender address (From)")
	}
	if c.LinkTTL <= 0 || c.PerAddress < 0 || c.PerClient < 0 || ((c.PerAddress > 0 || c.PerClient > 0) && c.Window <= 0) {
		return fmt.Errorf("intake: invalid limits: link TTL %v, %d per address, %d per client, window %v", c.LinkTTL, c.PerAddress, c.PerClient, c.Window)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}
