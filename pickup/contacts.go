package pickup

import (
	"context"
	"fmt"

	"github.com/lib/pq"

	"groupbuy/internal/apperr"
	"groupbuy/internal/input"
	"groupbuy/pickup/notify"
)

// ErrResidentNotFound answers a resident that is not the leader's.
var ErrResidentNotFound = apperr.Errorf(apperr.NotFound, "resident_not_found", "resident not found at this pickup point")

// Contact is how a resident may be reached.
type Contact struct {
	ResidentID int64    `json:"resident_id"`
	Email      string   `json:"email"`
	OptedOut   []string `json:"opt_out"`
}

// SetContact records a resident's e-mail and the channels they refuse, for
// the leader of their pickup point.
func (s *Service) SetContact(ctx context.Context, leaderID int64, c Contact) (Contact, error) {
	if c.Email != "" && !input.Email(c.Email) {
		return c, apperr.InvalidField("email", "email must be an e-mail address or empty")
	}
	seen := map[string]bool{}
	for i, ch := range c.OptedOut {
		if ch != notify.ChannelWebhook && ch != notify.ChannelSMS && ch != notify.ChannelEmail {
			return c, apperr.InvalidField(fmt.Sprintf("opt_out[%d]", i), "channels are webhook, sms and email")
		}
		if seen[ch] {
			return c, apperr.InvalidField(fmt.Sprintf("opt_out[%d]", i), "%s appears twice", ch)
		}
		seen[ch] = true
	}
	if c.OptedOut == nil {
		c.OptedOut = []string{}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE residents r SET email = $3, opted_out = $4
		FROM pickup_points p WHERE r.id = $1 AND p.id = r.pickup_point_id AND p.leader_id = $2`,
		c.ResidentID, leaderID, c.Email, pq.Array(c.OptedOut))
	if err != nil {
		return c, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return c, ErrResidentNotFound
	}
	return c, nil
}
