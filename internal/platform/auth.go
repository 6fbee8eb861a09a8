package platform

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"
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

// TokenPrefix marks groupbuy tokens so a leaked one is recognisable in logs.
const TokenPrefix = "gb_"

// NewToken returns a fresh random bearer token and the hash stored for it.
func NewToken() (token string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token)
}

// HashToken is the at-rest form of a token. Tokens carry 256 random bits, so a
// plain SHA-256 is enough; no salt or slow hash is needed.
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
		return "", 0, InvalidField("role", "role must be leader, warehouse, ops or admin")
	}
	if (spec.Role == RoleLeader) != (spec.LeaderID != 0) {
		return "", 0, InvalidField("leader_id", "a leader token needs a leader, a staff token must not have one")
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
	clock Clock
	ttl   time.Duration

	mu    sync.Mutex
	cache map[string]cachedPrincipal
}

type cachedPrincipal struct {
	p       Principal
	expires time.Time // token expiry
	checked time.Time
}

// NewAuthenticator returns an Authenticator over db.
func NewAuthenticator(db *sqlx.DB, clock Clock, cacheTTL time.Duration) *Authenticator {
	return &Authenticator{db: db, clock: clock, ttl: cacheTTL, cache: map[string]cachedPrincipal{}}
}

// ErrBadToken is returned for a missing, unknown, revoked or expired token.
var ErrBadToken = Errorf(Unauthorized, "", "missing or invalid bearer token")

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
	a.cache[key] = cachedPrincipal{p: p, expires: row.ExpiresAt.Time, checked: now}
	a.mu.Unlock()
	return p, nil
}

// Forget drops cached entries so a revocation in this process is immediate.
func (a *Authenticator) Forget() {
	a.mu.Lock()
	a.cache = map[string]cachedPrincipal{}
	a.mu.Unlock()
}

// Require is the one authorization middleware: it authenticates the bearer
// token and admits the listed roles (admin is admitted wherever a staff role is).
func (a *Authenticator) Require(roles ...Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			WriteError(c, ErrBadToken)
			return
		}
		p, err := a.Authenticate(c.Request.Context(), strings.TrimSpace(token))
		if err != nil {
			WriteError(c, err)
			return
		}
		if !admits(roles, p.Role) {
			WriteError(c, Errorf(Forbidden, "", "role %s may not use this endpoint", p.Role))
			return
		}
		c.Set("principal", p)
		c.Next()
	}
}

// StaffAccess returns the two guards of the ops API, so every package applies
// the same policy: read (warehouse, ops, admin) and write (ops, admin).
func (a *Authenticator) StaffAccess() (read, write gin.HandlerFunc) {
	return a.Require(RoleWarehouse, RoleOps), a.Require(RoleOps)
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
