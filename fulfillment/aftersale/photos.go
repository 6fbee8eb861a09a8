package aftersale

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	_ "image/jpeg" // registers the JPEG decoder image.DecodeConfig reads headers with
	_ "image/png"  // and the PNG one
	"net/http"
	"os"
	"path/filepath"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/internal/apperr"
	"groupbuy/internal/pg"
)

// Photo limits: how many a claim has, how large each is, how many pixels
// along a side.
const (
	MaxPhotos     = 3
	MaxPhotoBytes = 5 << 20
	maxPhotoSide  = 20_000
)

// Errors of photos.
var (
	ErrTooManyPhotos = apperr.Errorf(apperr.Invalid, "too_many_photos", "a claim has at most 3 photos")
	ErrPhotoTooLarge = apperr.Errorf(apperr.Invalid, "photo_too_large", "a photo may be at most 5 MB")
	ErrNotAnImage    = apperr.Errorf(apperr.Invalid, "not_an_image", "a photo must be a JPEG or PNG image")
)

type checkedPhoto struct {
	contentType   string
	width, height int
	data          []byte
	sum           [sha256.Size]byte
}

// checkPhoto takes a photo only for what its bytes are: the signature
// http.DetectContentType sniffs, and a header image.DecodeConfig reads in
// that same format, whatever the client declared.
func checkPhoto(b []byte) (checkedPhoto, error) {
	if len(b) > MaxPhotoBytes {
		return checkedPhoto{}, ErrPhotoTooLarge
	}
	ct := http.DetectContentType(b)
	want := map[string]string{"image/jpeg": "jpeg", "image/png": "png"}[ct]
	if want == "" {
		return checkedPhoto{}, ErrNotAnImage.With("detected", ct)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || format != want || cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxPhotoSide || cfg.Height > maxPhotoSide {
		return checkedPhoto{}, ErrNotAnImage.With("detected", ct)
	}
	return checkedPhoto{contentType: ct, width: cfg.Width, height: cfg.Height, data: b, sum: sha256.Sum256(b)}, nil
}

// photoStore keeps photo bytes in aftersale_photos.data, or in dir as
// files named by their SHA-256: a file written for a claim whose
// transaction then failed is one a later upload of the same bytes reuses,
// and never anyone else's.
type photoStore struct{ dir string }

func (s photoStore) file(sum []byte, contentType string) string {
	ext := ".jpg"
	if contentType == "image/png" {
		ext = ".png"
	}
	return filepath.Join(s.dir, hex.EncodeToString(sum)+ext)
}

func (s photoStore) add(ctx context.Context, tx *sqlx.Tx, claimID int64, seq int, p checkedPhoto) error {
	data := p.data
	if s.dir != "" {
		if err := writeFileAtomic(s.file(p.sum[:], p.contentType), p.data); err != nil {
			return err
		}
		data = nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO aftersale_photos (claim_id, seq, content_type, size_bytes, width, height, sha256, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, claimID, seq, p.contentType, len(p.data), p.width, p.height, p.sum[:], data)
	return err
}

// CheckPhotoDir makes dir if need be and writes a file there as a photo is
// written, so a directory photos cannot be kept in is found at start, not
// as a failed write on every claim with a photo; "" keeps them in the
// database.
func CheckPhotoDir(dir string) error {
	if dir == "" {
		return nil
	}
	name := filepath.Join(dir, ".writable")
	if err := writeFileAtomic(name, nil); err != nil {
		return err
	}
	return os.Remove(name)
}

// writeFileAtomic writes name through a temporary file and a rename, so a
// reader never sees half a photo.
func writeFileAtomic(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(name), ".photo-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// PhotoFile is a photo's bytes as served.
type PhotoFile struct {
	ContentType string
	Data        []byte
}

// Photo returns photo seq of a claim; leaderID other than 0 must run the
// claim's pickup point now, else it is not found.
func (s *Service) Photo(ctx context.Context, claimID int64, seq int, leaderID int64) (PhotoFile, error) {
	type stored struct {
		LeaderID    int64  `db:"leader_id"`
		ContentType string `db:"content_type"`
		Sum         []byte `db:"sha256"`
		Data        []byte `db:"data"`
	}
	row, err := pg.GetOne[stored](ctx, s.db, ErrPhotoNotFound, `SELECT pp.leader_id, p.content_type, p.sha256, p.data
		FROM aftersale_photos p JOIN aftersale_claims c ON c.id = p.claim_id JOIN pickup_points pp ON pp.id = c.pickup_point_id
		WHERE p.claim_id = $1 AND p.seq = $2`, claimID, seq)
	if err != nil {
		return PhotoFile{}, err
	}
	if leaderID != 0 && row.LeaderID != leaderID {
		return PhotoFile{}, ErrPhotoNotFound
	}
	if row.Data == nil {
		if s.photos.dir == "" {
			return PhotoFile{}, errPhotoDirMissing
		}
		if row.Data, err = os.ReadFile(s.photos.file(row.Sum, row.ContentType)); err != nil {
			return PhotoFile{}, err
		}
	}
	return PhotoFile{ContentType: row.ContentType, Data: row.Data}, nil
}

// withPhotos fills the claims' photo lists, in one query.
func withPhotos(ctx context.Context, q sqlx.QueryerContext, claims []Claim) error {
	if len(claims) == 0 {
		return nil
	}
	ids := make([]int64, len(claims))
	at := make(map[int64]int, len(claims))
	for i := range claims {
		ids[i], at[claims[i].ID] = claims[i].ID, i
		claims[i].Photos = []Photo{}
	}
	var photos []Photo
	if err := sqlx.SelectContext(ctx, q, &photos, `SELECT claim_id, seq, content_type, size_bytes, width, height
		FROM aftersale_photos WHERE claim_id = ANY($1) ORDER BY claim_id, seq`, pq.Array(ids)); err != nil {
		return err
	}
	for _, p := range photos {
		c := &claims[at[p.ClaimID]]
		c.Photos = append(c.Photos, p)
	}
	return nil
}
