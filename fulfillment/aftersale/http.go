package aftersale

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"groupbuy/internal/api"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/httpx"
)

// Handlers answer the claims' routes (cmd/groupbuy's route table lists
// them and says who calls each).
type Handlers struct{ svc *Service }

// NewHandlers returns the handlers over svc.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// ClaimForm is the multipart/form-data body a leader files a claim with:
// the claim's fields and its photos, in one request, so a refusal stores
// nothing.
type ClaimForm struct {
	LineID   int64          `json:"line_id" doc:"The order line's id (every line of an order shows it)."`
	Reason   Reason         `json:"reason" enum:"quality,damaged,missing,wrong_item,expired"`
	Quantity int64          `json:"quantity" doc:"Units claimed: at most those delivered to the point."`
	Note     string         `json:"note,omitempty" max:"500" doc:"What the leader saw."`
	Photo    []api.FormFile `json:"photo,omitempty" doc:"Up to 3 parts named photo: JPEG or PNG, at most 5 MB each, judged by their bytes, not their declared type."`
}

// FileRequest is a claim as a leader posts it.
type FileRequest struct {
	Body ClaimForm `content:"multipart/form-data"`
}

// maxFormBytes bounds a claim's whole body: three photos and the fields.
const maxFormBytes = MaxPhotos*MaxPhotoBytes + 64<<10

// maxFieldBytes bounds a text field: the note's characters, 4 bytes each at most.
const maxFieldBytes = 4 * MaxNote

// A claim's body that is not a multipart form the handler can read.
var (
	ErrNotMultipart = apperr.Errorf(apperr.Invalid, "not_multipart", "send the claim as multipart/form-data")
	ErrBadForm      = apperr.Errorf(apperr.Invalid, "bad_form", "the multipart body cannot be read")
	errFormTooLarge = apperr.Errorf(apperr.Invalid, "body_too_large", "the claim's body exceeds 3 photos of 5 MB")
)

// File records a claim of the calling leader (201), or refuses it and
// stores nothing.
func (h *Handlers) File(c *gin.Context, _ FileRequest) (Claim, error) {
	f, err := readFiling(c)
	if err != nil {
		return Claim{}, err
	}
	return h.svc.File(c.Request.Context(), auth.PrincipalOf(c).LeaderID, f)
}

// readFiling reads the form part by part, bounding each before it is held:
// a fourth photo or a photo over the limit is refused as it streams in.
func readFiling(c *gin.Context) (Filing, error) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBytes)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return Filing{}, ErrNotMultipart
	}
	var f Filing
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Filing{}, formError(err)
		}
		name := part.FormName()
		if name == "photo" {
			if len(f.Photos) == MaxPhotos {
				return Filing{}, ErrTooManyPhotos
			}
			b, err := io.ReadAll(io.LimitReader(part, MaxPhotoBytes+1))
			if err != nil {
				return Filing{}, formError(err)
			}
			if len(b) > MaxPhotoBytes {
				return Filing{}, ErrPhotoTooLarge.With("photo", len(f.Photos)+1)
			}
			f.Photos = append(f.Photos, b)
			continue
		}
		if name != "line_id" && name != "reason" && name != "quantity" && name != "note" {
			return Filing{}, apperr.InvalidField(name, "unknown part %q: the form has line_id, reason, quantity, note and photo", name)
		}
		if seen[name] {
			return Filing{}, apperr.InvalidField(name, "%s is given twice", name)
		}
		seen[name] = true
		b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return Filing{}, formError(err)
		}
		if len(b) > maxFieldBytes {
			return Filing{}, apperr.InvalidField(name, "%s is too long", name)
		}
		if err := f.set(name, string(b)); err != nil {
			return Filing{}, err
		}
	}
	for _, name := range []string{"line_id", "reason", "quantity"} {
		if !seen[name] {
			return Filing{}, apperr.InvalidField(name, "%s is required", name)
		}
	}
	return f, nil
}

func (f *Filing) set(name, v string) error {
	var err error
	switch name {
	case "line_id":
		if f.LineID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return apperr.InvalidField(name, "line_id must be an integer")
		}
	case "quantity":
		if f.Quantity, err = strconv.ParseInt(v, 10, 64); err != nil {
			return apperr.InvalidField(name, "quantity must be an integer")
		}
	case "reason":
		f.Reason = Reason(v)
	case "note":
		f.Note = v
	}
	return nil
}

func formError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return errFormTooLarge
	}
	return ErrBadForm
}

// LeaderQuery selects the calling leader's claims.
type LeaderQuery struct {
	State string `query:"state" enum:"pending,approved,rejected"`
	httpx.Page
}

// LeaderClaims answers a page of the calling leader's claims with their outcome.
func (h *Handlers) LeaderClaims(c *gin.Context, in LeaderQuery) (Page, error) {
	return h.svc.List(c.Request.Context(), Filter{LeaderID: auth.PrincipalOf(c).LeaderID, State: State(in.State),
		AfterID: in.AfterID, Limit: in.Limit})
}

// OpsQuery selects claims for ops.
type OpsQuery struct {
	State   string    `query:"state" enum:"pending,approved,rejected"`
	From    time.Time `query:"from" doc:"Claims filed on or after this UTC day."`
	To      time.Time `query:"to" doc:"Claims filed on or before this UTC day."`
	PointID int64     `query:"point_id" doc:"The pickup point."`
	httpx.Page
}

// Claims answers a page of claims, oldest first.
func (h *Handlers) Claims(c *gin.Context, in OpsQuery) (Page, error) {
	f := Filter{State: State(in.State), From: in.From, PointID: in.PointID, AfterID: in.AfterID, Limit: in.Limit}
	if !in.To.IsZero() {
		f.To = in.To.AddDate(0, 0, 1) // through the whole day
	}
	return h.svc.List(c.Request.Context(), f)
}

// ClaimID names a claim.
type ClaimID struct {
	ID int64 `path:"id" doc:"The claim's id."`
}

// Claim answers one claim: any to staff, only their own to a leader.
func (h *Handlers) Claim(c *gin.Context, in ClaimID) (Claim, error) {
	return h.svc.Get(c.Request.Context(), in.ID, auth.PrincipalOf(c).LeaderID)
}

// Approve grants a claim: refund, commission reversal, notice.
func (h *Handlers) Approve(c *gin.Context, in ClaimID) (Claim, error) {
	return h.svc.Approve(c.Request.Context(), in.ID, auth.PrincipalOf(c).String())
}

// RejectRequest says why a claim is refused.
type RejectRequest struct {
	ID   int64 `path:"id" doc:"The claim's id."`
	Body struct {
		Reason string `json:"reason" doc:"Why, as the leader will read it."`
	}
}

// Reject refuses a claim with a reason.
func (h *Handlers) Reject(c *gin.Context, in RejectRequest) (Claim, error) {
	return h.svc.Reject(c.Request.Context(), in.ID, in.Body.Reason, auth.PrincipalOf(c).String())
}

// PhotoRequest names a claim's photo.
type PhotoRequest struct {
	ID  int64 `path:"id" doc:"The claim's id."`
	Seq int   `path:"seq" max:"3" doc:"The photo's number, 1 to 3."`
}

// Photo answers a claim's photo: to staff, and to the claim's own leader
// only (another leader gets 404, as for no photo).
func (h *Handlers) Photo(c *gin.Context, in PhotoRequest) (api.Download, error) {
	p, err := h.svc.Photo(c.Request.Context(), in.ID, in.Seq, auth.PrincipalOf(c).LeaderID)
	if err != nil {
		return api.Download{}, err
	}
	c.Header("Cache-Control", "private, max-age=3600")
	return api.Download{ContentType: p.ContentType, Body: p.Data, ETag: fmt.Sprintf(`"%d-%d"`, in.ID, in.Seq)}, nil
}
