package auth

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/apperr"
	"groupbuy/internal/pg"
)

// A browser session stands in for a bearer token where a browser cannot
// send the header (a navigation): its cookie carries a random session id,
// never the token, so a leaked cookie is not the operator's token and
// logging out ends it on the server. A session acts as its token: the
// token's role, revocation and expiry, and its write count apply alike.

// SessionPrefix marks session ids, so one is never taken for a token.
const SessionPrefix = "gbs_"

// ErrBadSession is returned for a missing, unknown, closed or expired
// session, or one whose token is revoked or expired.
var ErrBadSession = apperr.Errorf(apperr.Unauthorized, "", "no valid session; log in again")

// ErrCrossOrigin refuses a write with a cookie that came from another
// origin's page (or from one that does not say where it came from).
var ErrCrossOrigin = apperr.Errorf(apperr.Forbidden, "cross_origin",
	"a write with the session cookie must come from this site's own pages (Origin or Sec-Fetch-Site); other clients send a bearer header")

// MaxSessionsPerToken is how many sessions one token keeps open; opening
// one more ends its oldest.
const MaxSessionsPerToken = 20

// OpenSession starts a session of p's token that ends after ttl (or with the
// token, or at CloseSession) and returns its id for the cookie. Opening one
// is a write of the token, counted against its limit like any other.
// Sessions that ended are deleted on the way, and so are the token's oldest
// beyond MaxSessionsPerToken, so the table holds a bounded set of open ones.
func (a *Authenticator) OpenSession(ctx context.Context, p Principal, ttl time.Duration) (string, error) {
	if a.writes != nil {
		if err := a.takeWrite(ctx, p); err != nil {
			return "", err
		}
	}
	sid, hash := newSecret(SessionPrefix)
	now := a.clock.Now()
	const q = `WITH ended AS (DELETE FROM console_sessions WHERE expires_at <= $3),
		surplus AS (DELETE FROM console_sessions WHERE session_hash IN (SELECT session_hash FROM console_sessions
			WHERE token_id = $2 AND expires_at > $3 ORDER BY created_at DESC, session_hash OFFSET $5))
		INSERT INTO console_sessions (session_hash, token_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`
	// The token's row is locked first: logins of one token at once each
	// counted the sessions as they stood before the others' went in, and a
	// burst left more open than the bound.
	err := pg.InTx(ctx, a.db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM api_tokens WHERE id = $1 FOR NO KEY UPDATE`, p.TokenID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, q, hash, p.TokenID, now, now.Add(ttl), MaxSessionsPerToken-1)
		return err
	})
	if err != nil {
		return "", err
	}
	return sid, nil
}

// CloseSession ends session sid; an unknown or ended one is no error, so
// logging out twice is harmless.
func (a *Authenticator) CloseSession(ctx context.Context, sid string) error {
	if !validSessionID(sid) {
		return nil
	}
	const q = `UPDATE console_sessions SET revoked_at = $2 WHERE session_hash = $1 AND revoked_at IS NULL`
	_, err := a.db.ExecContext(ctx, q, HashToken(sid), a.clock.Now())
	return err
}

// AuthenticateSession resolves session sid to its token's principal. It
// reads the database every time (no cache, unlike tokens): sessions serve
// a person's browser, not a hot API, and logging out or revoking the token
// then holds at once in every process.
func (a *Authenticator) AuthenticateSession(ctx context.Context, sid string) (Principal, error) {
	if !validSessionID(sid) {
		return Principal{}, ErrBadSession
	}
	var row struct {
		ID       int64         `db:"id"`
		Role     Role          `db:"role"`
		LeaderID sql.NullInt64 `db:"leader_id"`
		Name     string        `db:"name"`
	}
	const q = `SELECT t.id, t.role, t.leader_id, t.name
		FROM console_sessions s JOIN api_tokens t ON t.id = s.token_id
		WHERE s.session_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
		  AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)`
	err := a.db.GetContext(ctx, &row, q, HashToken(sid), a.clock.Now())
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrBadSession
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{TokenID: row.ID, Role: row.Role, LeaderID: row.LeaderID.Int64, Name: row.Name}, nil
}

func validSessionID(sid string) bool {
	return strings.HasPrefix(sid, SessionPrefix) && len(sid) <= 100
}

// SameOrigin refuses a write (any method but GET and HEAD) that a browser
// did not send from this site's own pages: Sec-Fetch-Site, which every
// current browser sends, must be same-origin (or none: the user's own
// doing); without it, Origin must be the request's own scheme and host.
// SameSite cookies do not suffice: another port of the host, or a sibling
// subdomain, is the same site. A request with neither header is refused
// too: browsers send one on every write, and a client that is no browser
// has no business using a cookie.
func SameOrigin(r *http.Request) error {
	if !isWrite(r.Method) {
		return nil
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return nil
	case "":
	default:
		return ErrCrossOrigin
	}
	scheme := "http"
	if HTTPS(r) {
		scheme = "https"
	}
	if r.Header.Get("Origin") != scheme+"://"+r.Host {
		return ErrCrossOrigin
	}
	return nil
}

// HTTPS reports whether the browser reached r over TLS: ended here, or by a
// proxy in front that says so in X-Forwarded-Proto.
func HTTPS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}
