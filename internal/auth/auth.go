// Package auth is who may call the API: roles, bearer tokens (issued,
// listed, revoked), console sessions, and the one authorization middleware.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"

	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/httpx"
	"groupbuy/internal/logctx"
	"groupbuy/internal/ratelimit"
)

// Role is what a token may do.
type Role string

// The roles. Staff roles are warehouse < ops < admin; leader is separate.
const (
	RoleLeader    Role = "leader"
	RoleWarehouse Role = "warehouse"
	RoleOps       Role = "ops"
	RoleAdmin     Role = "admin"
)

// ValidRole reports whether r names a role.
func ValidRole(r Role) bool {
	switch r {
	case RoleLeader, RoleWarehouse, RoleOps, RoleAdmin:
		return true
	}
	return false
}

// Principal is who a request acts as.
type Principal struct {
	TokenID  int64
	Role     Role
	LeaderID int64 // set for leader tokens
	Name     string
}

// String names the principal in the records that keep who did something:
// "name (role token id)".
func (p Principal) String() string {
	return p.Name + " (" + string(p.Role) + " token " + strconv.FormatInt(p.TokenID, 10) + ")"
}

// TokenPrefix marks groupbuy tokens so a leaked one is recognisable in logs.
const TokenPrefix = "gb_"

// NewToken returns a fresh random bearer token and the hash stored for it.
func NewToken() (token string, hash []byte) {
	return newSecret(TokenPrefix)
}

// newSecret returns prefix and 256 random bits, and the hash stored for it.
func newSecret(prefix string) (secret string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashToken(secret)
}

// HashToken is the at-rest form of a token (or session id). They carry 256
// random bits, so a plain SHA-256 is enough; no salt or slow hash is needed.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// TokenSpec describes a token to issue.
type TokenSpec struct {
	Role     Role
	LeaderID int64
	Name     string
	TTL      time.Duration // zero: no expiry
}

// IssueToken stores a new token inside tx and returns it; the plain token is
// shown once and never stored.
func IssueToken(ctx context.Context, tx sqlx.ExtContext, now time.Time, spec TokenSpec) (string, int64, error) {
	if !ValidRole(spec.Role) {
		return "", 0, apperr.InvalidField("role", "role must be leader, warehouse, ops or admin")
	}
	if (spec.Role == RoleLeader) != (spec.LeaderID != 0) {
		return "", 0, apperr.InvalidField("leader_id", "a leader token needs a leader, a staff token must not have one")
	}
	token, hash := NewToken()
	var expires sql.NullTime
	if spec.TTL > 0 {
		expires = sql.NullTime{Time: now.Add(spec.TTL), Valid: true}
	}
	var leader sql.NullInt64
	if spec.LeaderID != 0 {
		leader = sql.NullInt64{Int64: spec.LeaderID, Valid: true}
	}
	const q = `INSERT INTO api_tokens (token_hash, role, leader_id, name, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`
	var id int64
	if err := sqlx.GetContext(ctx, tx, &id, q, hash, spec.Role, leader, spec.Name, now, expires); err != nil {
		return "", 0, err
	}
	return token, id, nil
}

// Authenticator checks bearer tokens against api_tokens, caching results for a
// short TTL so a hot API does not pay a query per request. Revocation takes
// effect in other processes within that TTL.
type Authenticator struct {
	db    *sqlx.DB
	clock clock.Clock
	ttl   time.Duration

	mu    sync.Mutex
	cache map[string]cachedPrincipal
	// gen counts the forgettings: a check that read the database before
	// one does not cache what it read, which may be a token just revoked.
	gen uint64

	// writes, when set, counts every write against its token.
	writes *ratelimit.Limiter
}

// Option configures an Authenticator.
type Option func(*Authenticator)

// WithWriteLimit makes Require count every write (any method but GET and
// HEAD) against its token in l, so all API processes share one count in
// Redis, and refuse a write over the limit with 429 too_many_requests and
// Retry-After. If Redis fails, writes go on uncounted (order intake must not
// depend on Redis) and the limiter warns at most once a minute.
func WithWriteLimit(l *ratelimit.Limiter) Option {
	return func(a *Authenticator) { a.writes = l }
}

type cachedPrincipal struct {
	p       Principal
	expires time.Time // token expiry
	checked time.Time
}

// NewAuthenticator returns an Authenticator over db.
func NewAuthenticator(db *sqlx.DB, clock clock.Clock, cacheTTL time.Duration, opts ...Option) *Authenticator {
	a := &Authenticator{db: db, clock: clock, ttl: cacheTTL, cache: map[string]cachedPrincipal{}}
	for _, o := range opts {
		o(a)
	}
	return a
}

// ErrBadToken is returned for a missing, unknown, revoked or expired token.
var ErrBadToken = apperr.Errorf(apperr.Unauthorized, "", "missing or invalid bearer token")

// Authenticate resolves a bearer token to its principal.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 100 {
		return Principal{}, ErrBadToken
	}
	hash := HashToken(token)
	key := string(hash)
	now := a.clock.Now()
	a.mu.Lock()
	c, ok := a.cache[key]
	gen := a.gen
	a.mu.Unlock()
	if ok && now.Sub(c.checked) < a.ttl {
		if !c.expires.IsZero() && !now.Before(c.expires) {
			return Principal{}, ErrBadToken
		}
		return c.p, nil
	}
	var row struct {
		ID        int64         `db:"id"`
		Hash      []byte        `db:"token_hash"`
		Role      Role          `db:"role"`
		LeaderID  sql.NullInt64 `db:"leader_id"`
		Name      string        `db:"name"`
		ExpiresAt sql.NullTime  `db:"expires_at"`
		RevokedAt sql.NullTime  `db:"revoked_at"`
	}
	const q = `SELECT id, token_hash, role, leader_id, name, expires_at, revoked_at FROM api_tokens WHERE token_hash = $1`
	err := a.db.GetContext(ctx, &row, q, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrBadToken
	}
	if err != nil {
		return Principal{}, err
	}
	if subtle.ConstantTimeCompare(row.Hash, hash) != 1 || row.RevokedAt.Valid ||
		(row.ExpiresAt.Valid && !now.Before(row.ExpiresAt.Time)) {
		return Principal{}, ErrBadToken
	}
	p := Principal{TokenID: row.ID, Role: row.Role, LeaderID: row.LeaderID.Int64, Name: row.Name}
	a.mu.Lock()
	if len(a.cache) > 100_000 { // bound memory against token spraying
		a.cache = map[string]cachedPrincipal{}
	}
	if a.gen == gen {
		a.cache[key] = cachedPrincipal{p: p, expires: row.ExpiresAt.Time, checked: now}
	}
	a.mu.Unlock()
	return p, nil
}

// Forget drops cached entries so a revocation in this process is immediate.
func (a *Authenticator) Forget() {
	a.mu.Lock()
	a.cache = map[string]cachedPrincipal{}
	a.gen++
	a.mu.Unlock()
}

// forgetToken drops the cached entry of one token.
func (a *Authenticator) forgetToken(id int64) {
	a.mu.Lock()
	for k, c := range a.cache {
		if c.p.TokenID == id {
			delete(a.cache, k)
		}
	}
	a.gen++
	a.mu.Unlock()
}

// Require is the one authorization middleware: it authenticates the bearer
// token and admits the listed roles (admin is admitted wherever a staff role is).
func (a *Authenticator) Require(roles ...Role) gin.HandlerFunc {
	return a.require("", roles)
}

// RequireSession is Require that also takes a browser session (see
// OpenSession) from the named cookie when the request has no Authorization
// header. A cookie is an ambient credential, sent with whatever request
// another site makes the browser send, so a write with it must also come
// from this site's own pages (SameOrigin).
func (a *Authenticator) RequireSession(cookie string, roles ...Role) gin.HandlerFunc {
	return a.require(cookie, roles)
}

func (a *Authenticator) require(cookie string, roles []Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, err := a.principal(c, cookie)
		if err != nil {
			if apperr.KindOf(err) == apperr.Unauthorized {
				c.Header("WWW-Authenticate", `Bearer realm="groupbuy"`)
			}
			httpx.WriteError(c, err)
			return
		}
		if !admits(roles, p.Role) {
			httpx.WriteError(c, apperr.Errorf(apperr.Forbidden, "", "role %s may not use this endpoint", p.Role))
			return
		}
		if a.writes != nil && isWrite(c.Request.Method) {
			if err := a.takeWrite(c.Request.Context(), p); err != nil {
				httpx.WriteError(c, err)
				return
			}
		}
		c.Set("principal", p)
		c.Request = c.Request.WithContext(logctx.WithActor(c.Request.Context(), string(p.Role)+":"+p.Name))
		c.Next()
	}
}

// principal authenticates the request by its bearer header or, where a
// session cookie is taken and no Authorization header is sent, by the
// session the cookie names.
func (a *Authenticator) principal(c *gin.Context, cookie string) (Principal, error) {
	h := c.GetHeader("Authorization")
	if h == "" && cookie != "" {
		if sid, err := c.Cookie(cookie); err == nil && sid != "" {
			if err := SameOrigin(c.Request); err != nil {
				return Principal{}, err
			}
			return a.AuthenticateSession(c.Request.Context(), sid)
		}
	}
	// The scheme's name is case-insensitive (RFC 9110).
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Principal{}, ErrBadToken
	}
	return a.Authenticate(c.Request.Context(), strings.TrimSpace(token))
}

// ErrTooManyWrites answers a token that used up its writes of the minute.
var ErrTooManyWrites = apperr.Errorf(apperr.TooMany, "too_many_requests", "too many writes with this token; wait before trying again")

func isWrite(method string) bool {
	return method != http.MethodGet && method != http.MethodHead
}

// takeWrite counts one write of p's token (one Redis round trip; none, and
// no refusal, while Redis is unavailable).
func (a *Authenticator) takeWrite(ctx context.Context, p Principal) error {
	if ok, retry := a.writes.Take(ctx, strconv.FormatInt(p.TokenID, 10), a.clock.Now()); !ok {
		return ErrTooManyWrites.With("retry_after_s", int64((retry+time.Second-1)/time.Second))
	}
	return nil
}

func admits(roles []Role, r Role) bool {
	for _, want := range roles {
		if want == r || (r == RoleAdmin && want != RoleLeader) {
			return true
		}
	}
	return false
}

// PrincipalOf returns the authenticated principal of the request.
func PrincipalOf(c *gin.Context) Principal {
	p, _ := c.Get("principal")
	pr, _ := p.(Principal)
	return pr
}

// TokenInfo is a stored token without its secret: what listing and revoking
// answer.
type TokenInfo struct {
	ID        int64      `json:"id" db:"id"`
	Role      Role       `json:"role" db:"role"`
	Name      string     `json:"name" db:"name"`
	LeaderID  *int64     `json:"leader_id,omitempty" db:"leader_id"`
	CreatedAt time.Time  `json:"created_at" db:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty" db:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty" db:"revoked_at"`
}

func (t *TokenInfo) utc() {
	t.CreatedAt = t.CreatedAt.UTC()
	for _, p := range []*time.Time{t.ExpiresAt, t.RevokedAt} {
		if p != nil {
			*p = p.UTC()
		}
	}
}

// ErrTokenNotFound answers an unknown token id.
var ErrTokenNotFound = apperr.Errorf(apperr.NotFound, "token_not_found", "no such token")

// RevokeToken marks token id revoked at now. Revoking a revoked token keeps
// its first revocation and answers the same row, so a retry is harmless.
func RevokeToken(ctx context.Context, db sqlx.ExtContext, id int64, now time.Time) (TokenInfo, error) {
	const q = `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1
		RETURNING id, role, name, leader_id, created_at, expires_at, revoked_at`
	var t TokenInfo
	err := sqlx.GetContext(ctx, db, &t, q, id, now)
	if errors.Is(err, sql.ErrNoRows) {
		return TokenInfo{}, ErrTokenNotFound
	}
	if err != nil {
		return TokenInfo{}, err
	}
	t.utc()
	return t, nil
}

// TokenFilter selects tokens to list; zero fields select all.
type TokenFilter struct {
	Role     Role
	LeaderID int64
	AfterID  int64
	Limit    int // 1 to 1000; 0 means 200
}

// ListTokens returns tokens by id, without secrets, and whether more follow.
func ListTokens(ctx context.Context, db sqlx.QueryerContext, f TokenFilter) ([]TokenInfo, bool, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 200
	}
	const q = `SELECT id, role, name, leader_id, created_at, expires_at, revoked_at FROM api_tokens
		WHERE id > $1 AND ($2 = '' OR role = $2) AND ($3::bigint = 0 OR leader_id = $3)
		ORDER BY id LIMIT $4`
	ts := []TokenInfo{}
	if err := sqlx.SelectContext(ctx, db, &ts, q, f.AfterID, string(f.Role), f.LeaderID, limit+1); err != nil {
		return nil, false, err
	}
	more := len(ts) > limit
	if more {
		ts = ts[:limit]
	}
	for i := range ts {
		ts[i].utc()
	}
	return ts, more, nil
}

// Revoke revokes token id. This process refuses it from the next request;
// other processes within their token cache TTL.
func (a *Authenticator) Revoke(ctx context.Context, id int64) (TokenInfo, error) {
	t, err := RevokeToken(ctx, a.db, id, a.clock.Now())
	if err != nil {
		return TokenInfo{}, err
	}
	a.forgetToken(id)
	return t, nil
}

// TokensQuery selects tokens to list.
type TokensQuery struct {
	Role     Role  `query:"role" enum:"leader,warehouse,ops,admin" doc:"Only tokens of this role."`
	LeaderID int64 `query:"leader_id" doc:"Only this leader's tokens."`
	httpx.Page
}

// TokenList is a page of tokens by id, without their secrets.
type TokenList struct {
	Tokens  []TokenInfo `json:"tokens"`
	HasMore bool        `json:"has_more"`
	NextID  int64       `json:"next_after_id,omitempty"`
}

// TokenList answers a page of tokens (the admin's route).
func (a *Authenticator) TokenList(c *gin.Context, in TokensQuery) (TokenList, error) {
	ts, more, err := ListTokens(c.Request.Context(), a.db, TokenFilter{Role: in.Role, LeaderID: in.LeaderID,
		AfterID: in.AfterID, Limit: in.Limit})
	out := TokenList{Tokens: ts, HasMore: more}
	if more {
		out.NextID = ts[len(ts)-1].ID
	}
	return out, err
}

// RevokeByID revokes the token the path names (the admin's route).
func (a *Authenticator) RevokeByID(c *gin.Context, in struct {
	ID int64 `path:"id" doc:"The token's id."`
}) (TokenInfo, error) {
	return a.Revoke(c.Request.Context(), in.ID)
}
