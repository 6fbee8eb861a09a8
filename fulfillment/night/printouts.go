package night

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/printout"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
)

// PrintoutKind names a printout of a wave.
type PrintoutKind string

// The printouts of a wave: the pick list is made by the pick stage, the
// others by the ready stage (they need routes).
const (
	PrintPickList   PrintoutKind = "pick-list"
	PrintSortSheet  PrintoutKind = "sort-sheet"
	PrintLabels     PrintoutKind = "labels"
	PrintRouteSheet PrintoutKind = "route-sheet"
)

// ErrPrintoutNotReady: the wave has not reached the stage that makes the printout.
var ErrPrintoutNotReady = apperr.Errorf(apperr.NotFound, "printout_not_ready", "the wave has not reached the stage that makes this printout")

// ErrNightArchived refuses a printout of a night retention has archived:
// its detail, and the printouts made of it, are in the archive files.
var ErrNightArchived = apperr.Errorf(apperr.Conflict, "night_archived", "the wave's night is archived: its printouts are in the archive")

// Printout is a rendered printout as stored.
type Printout struct {
	WaveID    int64        `db:"wave_id"`
	Kind      PrintoutKind `db:"kind"`
	Scope     string       `db:"scope"` // PrintScope.key: '' (whole wave), a zone, a route code, or both
	Format    string       `db:"format"`
	Content   []byte       `db:"content"`
	SHA256    string       `db:"sha256"`
	CreatedAt time.Time    `db:"created_at"`
}

// Printer renders a wave's printouts and keeps them in the printouts table,
// so a reprint is instant and byte-identical. Fonts load on first use: a
// machine without them still runs the night, and a download says what to
// install.
type Printer struct {
	cjkFont, latinFont string
	key                []byte
	// driverLink is the address of a route's driver page, valid until
	// expires, printed as a QR code on its route sheet; nil: none.
	driverLink func(routeID int64, expires time.Time) string

	once  sync.Once
	fonts *printout.Fonts
	err   error
}

// NewPrinter returns a printer with font files ("" for the Debian defaults)
// and the key that signs bag labels.
func NewPrinter(cjkFont, latinFont string, labelKey []byte) *Printer {
	return &Printer{cjkFont: cjkFont, latinFont: latinFont, key: labelKey}
}

// WithDriverLinks has route sheets carry a QR code of their driver page's
// address, made by link for a route until the end of its delivery day.
func (p *Printer) WithDriverLinks(link func(routeID int64, expires time.Time) string) *Printer {
	p.driverLink = link
	return p
}

// LabelKey is the key bag labels are signed with, for a scanner to verify.
func (p *Printer) LabelKey() []byte { return p.key }

func (p *Printer) loadFonts() (*printout.Fonts, error) {
	p.once.Do(func() {
		p.fonts, p.err = printout.LoadFonts(p.cjkFont, p.latinFont)
		if p.err != nil {
			p.err = apperr.Errorf(apperr.Unavailable, "fonts_missing", "printouts are unavailable: %v", p.err)
		}
	})
	return p.fonts, p.err
}

// readyState is the wave state from which a kind of printout exists.
func (k PrintoutKind) readyStates() []wave.State {
	if k == PrintPickList {
		return []wave.State{wave.Picked, wave.Routed, wave.Ready, wave.Dispatched, wave.Delivered}
	}
	return []wave.State{wave.Ready, wave.Dispatched, wave.Delivered}
}

// PrintScope narrows a printout to one route, one temperature zone, or both;
// the zero scope is the whole wave.
type PrintScope struct {
	Route string
	Zone  fulfillment.Zone
}

// key is the scope as stored and put in file names: "", "R01", "chilled" or
// "R01-chilled".
func (s PrintScope) key() string {
	switch {
	case s.Route == "":
		return string(s.Zone)
	case s.Zone == "":
		return s.Route
	}
	return s.Route + "-" + string(s.Zone)
}

// FileName is the download's name, without the format's extension.
func (s PrintScope) FileName(waveID int64, kind PrintoutKind) string {
	name := fmt.Sprintf("wave%d-%s", waveID, kind)
	if k := s.key(); k != "" {
		name += "-" + k
	}
	return name
}

// parseFile reads a printout's file name, {kind}.pdf or {kind}.csv, as a
// request names it (field file).
func parseFile(file string) (kind PrintoutKind, format string, err error) {
	dot := strings.LastIndexByte(file, '.')
	if dot < 0 {
		return "", "", apperr.InvalidField("file", "file must be {kind}.pdf or {kind}.csv")
	}
	kind, format = PrintoutKind(file[:dot]), file[dot+1:]
	switch kind {
	case PrintPickList, PrintSortSheet, PrintLabels, PrintRouteSheet:
	default:
		return "", "", apperr.InvalidField("file", "unknown printout %q (known: pick-list, sort-sheet, labels, route-sheet)", kind)
	}
	if format != "pdf" && format != "csv" {
		return "", "", apperr.InvalidField("file", "format must be pdf or csv")
	}
	return kind, format, nil
}

// checkScope validates a kind's scope. Each filter applies where it
// narrows the sheet, and is refused where it cannot: the pick list is per
// zone for the whole wave (routes are not planned yet when it is made), a
// route sheet is per route and its truck carries every zone.
func checkScope(kind PrintoutKind, scope PrintScope) error {
	if err := routeplan.CheckRouteCode(scope.Route); err != nil {
		return err
	}
	if err := fulfillment.CheckZoneFilter(scope.Zone); err != nil {
		return err
	}
	switch kind {
	case PrintPickList:
		if scope.Route != "" {
			return apperr.InvalidField("route", "the pick list covers the whole wave by zone; route applies to sort sheets, labels and route sheets")
		}
	case PrintRouteSheet:
		if scope.Zone != "" {
			return apperr.InvalidField("zone", "a route sheet lists a route's stops, and its truck carries every zone; zone applies to pick lists, sort sheets and labels")
		}
	}
	return nil
}

// Printout returns a wave's printout, rendering and storing it on first
// request when the stage did not (a single zone or route). It fails with
// ErrPrintoutNotReady before the wave has reached the stage that makes it.
func (p *Printer) Printout(ctx context.Context, db *sqlx.DB, waveID int64, file string, scope PrintScope) (Printout, error) {
	kind, format, err := parseFile(file)
	if err != nil {
		return Printout{}, err
	}
	if err := checkScope(kind, scope); err != nil {
		return Printout{}, err
	}
	out, err := storedPrintout(ctx, db, waveID, kind, scope, format)
	if !errors.Is(err, sql.ErrNoRows) {
		return out, err
	}
	err = pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
		w, err := wave.Get(ctx, tx, waveID)
		if err != nil {
			return err
		}
		ready := false
		for _, s := range kind.readyStates() {
			ready = ready || w.State == s
		}
		if !ready {
			return ErrPrintoutNotReady
		}
		var kept bool
		if err := tx.GetContext(ctx, &kept, `SELECT to_regclass(night_partition_name('printouts', $1)) IS NOT NULL`, w.DeliveryDate); err != nil {
			return err
		}
		if !kept {
			return ErrNightArchived
		}
		stage := wave.StageReady
		if kind == PrintPickList {
			stage = wave.StagePick
		}
		at, err := wave.StageFinishedAt(ctx, tx, waveID, stage)
		if err != nil {
			return err
		}
		if err := p.render(ctx, tx, w, kind, scope, at); err != nil {
			return err
		}
		out, err = storedPrintout(ctx, tx, waveID, kind, scope, format)
		return err
	})
	return out, err
}

func storedPrintout(ctx context.Context, q sqlx.QueryerContext, waveID int64, kind PrintoutKind, scope PrintScope, format string) (Printout, error) {
	var out Printout
	err := sqlx.GetContext(ctx, q, &out, `SELECT wave_id, kind, scope, format, content, sha256, created_at FROM printouts
		WHERE wave_id = $1 AND kind = $2 AND scope = $3 AND format = $4`, waveID, kind, scope.key(), format)
	return out, err
}

// render makes the PDF and CSV of one printout and stores them; at is when
// the stage that made the plan finished, printed as "printed at" so a
// re-render gives the same bytes. A concurrent render of the same printout
// yields the same bytes, so the first stored wins.
func (p *Printer) render(ctx context.Context, tx *sqlx.Tx, w wave.Wave, kind PrintoutKind, scope PrintScope, at time.Time) error {
	return p.renderAll(ctx, tx, w, []PrintoutKind{kind}, scope, at)
}

// renderAll renders kinds of one scope: their plan is read in tx, one kind
// after another, then they are drawn at the same time, each on its own
// cores, and stored in the order given. Drawing reads nothing, so the bytes
// are the same however the drawings interleave.
func (p *Printer) renderAll(ctx context.Context, tx *sqlx.Tx, w wave.Wave, kinds []PrintoutKind, scope PrintScope, at time.Time) error {
	fonts, err := p.loadFonts()
	if err != nil {
		return err
	}
	n, err := loadNight(ctx, tx, w, at)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(kinds, func(k PrintoutKind) bool { return k != PrintPickList }) {
		if err := n.loadRoutes(ctx, tx, scope.Route); err != nil {
			return err
		}
	}
	draws := make([]drawing, len(kinds))
	for i, k := range kinds {
		if draws[i], err = p.prepare(ctx, tx, fonts, n, k, scope); err != nil {
			return err
		}
	}
	type drawn struct {
		pdf, csv []byte
		err      error
	}
	out := make([]drawn, len(kinds))
	var wg sync.WaitGroup
	for i, draw := range draws {
		wg.Go(func() {
			out[i].pdf, out[i].csv, out[i].err = draw()
		})
	}
	wg.Wait()
	for i, k := range kinds {
		if out[i].err != nil {
			return out[i].err
		}
		for _, f := range []struct {
			format  string
			content []byte
		}{{"pdf", out[i].pdf}, {"csv", out[i].csv}} {
			sum := sha256.Sum256(f.content)
			if _, err := tx.ExecContext(ctx, `INSERT INTO printouts (wave_id, kind, scope, format, content, sha256, created_at, delivery_date)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
				w.ID, k, scope.key(), f.format, f.content, hex.EncodeToString(sum[:]), at, w.DeliveryDate); err != nil {
				return err
			}
		}
	}
	return nil
}

// drawing draws a printout whose plan has been read: it touches no database.
type drawing func() (pdf, csv []byte, err error)

// prepare reads what a kind of printout of n needs (n's routes loaded
// unless it is the pick list) and returns its drawing.
func (p *Printer) prepare(ctx context.Context, tx *sqlx.Tx, fonts *printout.Fonts, n *night, kind PrintoutKind, scope PrintScope) (drawing, error) {
	switch kind {
	case PrintPickList:
		sheets, err := n.pickSheets(ctx, tx, scope.Zone)
		if err != nil {
			return nil, err
		}
		return func() ([]byte, []byte, error) {
			pdf, err := printout.PickSheets(fonts, n.hdr.PrintedAt, sheets)
			return pdf, printout.PickSheetsCSV(sheets), err
		}, nil
	case PrintSortSheet:
		sheets, err := n.sortSheets(ctx, tx, scope)
		if err != nil {
			return nil, err
		}
		return func() ([]byte, []byte, error) {
			pdf, err := printout.SortSheets(fonts, n.hdr.PrintedAt, sheets)
			return pdf, printout.SortSheetsCSV(sheets), err
		}, nil
	case PrintLabels:
		labels, err := n.labels(ctx, tx, scope)
		if err != nil {
			return nil, err
		}
		return func() ([]byte, []byte, error) {
			pdf, err := printout.Labels(fonts, n.hdr.PrintedAt, labels, p.key)
			return pdf, printout.LabelsCSV(labels, p.key), err
		}, nil
	}
	sheets := n.routeSheets()
	if p.driverLink != nil {
		d := n.wave.DeliveryDate
		// The pass lasts until the delivery day ends where the trucks run.
		expires := clock.Midnight(d.AddDate(0, 0, 1), n.loc)
		for i, r := range n.routes {
			sheets[i].DriverURL = p.driverLink(r.ID, expires)
		}
	}
	return func() ([]byte, []byte, error) {
		pdf, err := printout.RouteSheets(fonts, n.hdr.PrintedAt, sheets)
		return pdf, printout.RouteCSV(sheets), err
	}, nil
}

// renderStage renders the whole-wave printouts a stage makes, inside the
// stage's transaction: a crash leaves the old plan's printouts or the new
// ones, never half. Without fonts the night goes on; downloads then explain.
func (r *Runner) renderStage(ctx context.Context, tx *sqlx.Tx, waveID int64, stage wave.Stage, now time.Time) error {
	p := r.opt.Printer
	if p == nil {
		return nil
	}
	kinds := []PrintoutKind{PrintLabels, PrintRouteSheet}
	del := `DELETE FROM printouts WHERE wave_id = $1 AND kind <> 'pick-list'`
	if stage == wave.StagePick {
		kinds, del = []PrintoutKind{PrintPickList}, `DELETE FROM printouts WHERE wave_id = $1`
	}
	// The plan was just rebuilt: what was printed from the old one goes.
	if _, err := tx.ExecContext(ctx, del, waveID); err != nil {
		return err
	}
	if _, err := p.loadFonts(); err != nil {
		r.log.WarnContext(ctx, "printouts not rendered", "wave", waveID, "stage", stage, "err", err)
		return nil
	}
	wv, err := wave.Get(ctx, tx, waveID)
	if err != nil {
		return err
	}
	return p.renderAll(ctx, tx, wv, kinds, PrintScope{}, now)
}

// withPrintouts runs a stage, then renders its printouts in the same
// transaction when it moved the wave on.
func (r *Runner) withPrintouts(stage wave.Stage, run stageFunc) stageFunc {
	return func(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, progress func(int64, int64)) (stageResult, error) {
		res, err := run(ctx, tx, id, now, progress)
		if err != nil || !res.moved {
			return res, err
		}
		return res, r.renderStage(ctx, tx, id, stage, now)
	}
}
