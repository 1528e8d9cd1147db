package exclusion

import (
	"context"
	"fmt"
	"time"
)

// Unconfirmed is the status of a request submitted to a registry whose
// Config.Confirm.Required is set, until the requester confirms their e-mail
// address (Registry.Confirm): it is not shown for review, cannot be
// approved and blocks nothing.
const Unconfirmed Status = "unconfirmed"

// Audit actions of the confirmation step.
const (
	// ActionConfirm: the requester confirmed their e-mail address.
	ActionConfirm Action = "confirm"
	// ActionExpire: an unconfirmed request was withdrawn because it was
	// not confirmed in time.
	ActionExpire Action = "expire"
)

// ConfirmConfig says whether requests need the requester's confirmation
// before review. The zero value needs none: requests are Pending at once.
type ConfirmConfig struct {
	// Required makes Submit store requests as Unconfirmed; Confirm moves
	// them to Pending.
	Required bool
	// Within is how long an unconfirmed request waits for its
	// confirmation: Registry.Expire withdraws older ones. 0 means it
	// waits until withdrawn.
	Within time.Duration
}

func (c ConfirmConfig) validate() error {
	if c.Within < 0 {
		return fmt.Errorf("exclusion: negative Confirm.Within %v", c.Within)
	}
	return nil
}

// Confirm records that the requester confirmed the e-mail address of the
// unconfirmed request id: it becomes Pending, ready for review. The caller
// (an intake service) proves the confirmation, typically by a signed,
// expiring link sent to the address; actor names who confirmed for the
// audit log. Any other status gives ErrTransition (a second confirmation
// of the same request included). Safe for concurrent use.
func (r *Registry) Confirm(ctx context.Context, id, actor string) (*Request, error) {
	return r.change(ctx, id, actor, "", ActionConfirm, Pending, func(*Request) error { return nil })
}
