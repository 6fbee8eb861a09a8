package main

import (
	"net/http"

	"groupbuy/fulfillment/aftersale"
	"groupbuy/fulfillment/commission"
	"groupbuy/internal/api"
	"groupbuy/internal/apperr"
)

// aftersaleRoutes are the leaders' after-sales claims (售后) and ops'
// decisions on them. A claim and its photos are read by its own leader
// (the handlers answer another leader 404) and by ops.
func aftersaleRoutes(a *app) []api.Route {
	svc := aftersale.NewService(a.db, a.clock, aftersale.Options{Window: a.cfg.AftersaleWindow, PhotoDir: a.cfg.AftersalePhotoDir,
		Metrics: a.refunds})
	h := aftersale.NewHandlers(svc)
	section := "After-sales claims"
	return []api.Route{
		{Method: http.MethodPost, Path: "/api/v1/leader/aftersale/claims", Access: leaders, Section: section, Tag: "leader",
			ID: "fileClaim", Summary: "File an after-sales claim (售后)", Status: http.StatusCreated,
			Doc: "multipart/form-data: line_id, reason (quality, damaged, missing, wrong_item, expired), quantity, note and up to 3 " +
				"parts named photo (JPEG or PNG by their bytes, at most 5 MB each). The line must be delivered to the calling leader's " +
				"point (received or collected), within the window after receipt or collection (48 h unless configured), for at most the " +
				"units delivered; a line has one pending or approved claim at a time. A refusal stores nothing.",
			Errors: []*apperr.Error{aftersale.ErrLineNotFound, aftersale.ErrNotDelivered, aftersale.ErrWindowClosed, aftersale.ErrQuantity,
				aftersale.ErrAlreadyClaimed, aftersale.ErrNotAnImage, aftersale.ErrPhotoTooLarge, aftersale.ErrTooManyPhotos, aftersale.ErrNotMultipart, aftersale.ErrBadForm},
			Handler: api.JSON(h.File)},
		{Method: http.MethodGet, Path: "/api/v1/leader/aftersale/claims", Access: leaders, Section: section, Tag: "leader",
			ID: "leaderClaims", Summary: "The leader's claims and their outcome",
			Doc:     "The calling leader's claims in id order: state, the rejection's reason, the refund an approval made, the photos.",
			Handler: api.JSON(h.LeaderClaims)},
		{Method: http.MethodGet, Path: "/api/v1/leader/aftersale/claims/:id", Access: leaders, Section: section, Tag: "leader",
			ID: "leaderClaim", Summary: "One of the leader's claims", Doc: "The claim with its outcome and photos; another leader's is 404.",
			Errors: []*apperr.Error{aftersale.ErrClaimNotFound}, Handler: api.JSON(h.Claim)},
		{Method: http.MethodGet, Path: "/api/v1/leader/aftersale/claims/:id/photos/:seq", Access: leaders, Section: section, Tag: "leader",
			ID: "leaderClaimPhoto", Summary: "A photo of the leader's claim",
			Doc:    "The photo's bytes (image/jpeg or image/png), seq 1 to 3 as the claim lists them; another leader's is 404.",
			Errors: []*apperr.Error{aftersale.ErrPhotoNotFound}, Handler: api.File(h.Photo, "image/jpeg", "image/png")},
		{Method: http.MethodGet, Path: "/api/v1/ops/aftersale/claims/:id", Access: opsWrites, Section: section, Tag: "ops",
			ID: "opsClaim", Summary: "One claim", Doc: "Any leader's claim with its outcome and photos.",
			Errors: []*apperr.Error{aftersale.ErrClaimNotFound}, Handler: api.JSON(h.Claim)},
		{Method: http.MethodGet, Path: "/api/v1/ops/aftersale/claims/:id/photos/:seq", Access: opsWrites, Section: section, Tag: "ops",
			ID: "opsClaimPhoto", Summary: "A claim's photo", Doc: "The photo's bytes (image/jpeg or image/png), seq 1 to 3.",
			Errors: []*apperr.Error{aftersale.ErrPhotoNotFound}, Handler: api.File(h.Photo, "image/jpeg", "image/png")},
		{Method: http.MethodGet, Path: "/api/v1/ops/aftersale/claims", Access: opsWrites, Section: section, Tag: "ops",
			ID: "listClaims", Summary: "After-sales claims",
			Doc:     "Claims by state, filing date (from and to, inclusive, UTC days) and pickup point, in id order, a page at a time.",
			Handler: api.JSON(h.Claims)},
		{Method: http.MethodPost, Path: "/api/v1/ops/aftersale/claims/:id/approve", Access: opsWrites, Section: section, Tag: "ops",
			ID: "approveClaim", Summary: "Approve a claim",
			Doc: "In one transaction: a refund (reason after_sale) of the claimed units, the leader's commission on them reversed " +
				"(a line not yet collected has none yet, and its accrual leaves them out), the refund notice to the resident, and the " +
				"claim approved with the refund's id. Approving again answers the claim unchanged.",
			Errors: []*apperr.Error{aftersale.ErrClaimNotFound, aftersale.ErrAlreadyDecided, commission.ErrAlreadyRefunded,
				commission.ErrNotCollected, aftersale.ErrLineArchived},
			Handler: api.JSON(h.Approve)},
		{Method: http.MethodPost, Path: "/api/v1/ops/aftersale/claims/:id/reject", Access: opsWrites, Section: section, Tag: "ops",
			ID: "rejectClaim", Summary: "Reject a claim", Doc: "Body {reason}: why, as the leader reads it. Rejecting again answers the claim unchanged.",
			Errors: []*apperr.Error{aftersale.ErrClaimNotFound, aftersale.ErrAlreadyDecided}, Handler: api.JSON(h.Reject)},
	}
}
