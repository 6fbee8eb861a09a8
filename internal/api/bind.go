package api

import (
	"cmp"
	"encoding"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"groupbuy/internal/apperr"
	"groupbuy/internal/httpx"
	"groupbuy/internal/input"
)

// Param is one path, query or header parameter of a request struct, as its
// field's tags declare it:
//
//	ID    int64     `path:"id" doc:"The wave's id."`
//	Date  time.Time `query:"date" required:"true"`
//	Zone  string    `query:"zone" enum:"ambient,chilled,frozen"`
//	Limit int       `query:"limit" max:"1000"`
//	Key   string    `header:"Idempotency-Key" required:"true" max:"100"`
//
// Integers are from min (default 1: ids and counts are positive) to max
// (default the largest of their column: int8 for int64 and int, int4 for
// int32). Strings follow the text rule with at most max characters (max is
// required), or are one of enum. time.Time is a date (layout, default
// YYYY-MM-DD) within input's window. Any other type reads itself with
// UnmarshalText. A path parameter is always required; an absent optional
// one leaves the zero value (nil for a pointer); a missing required query
// parameter is refused saying its shape (tag shape; YYYY-MM-DD for a
// date). The fields of an embedded struct without tags (httpx.Page) count
// as the request's own.
type Param struct {
	In       string // "path", "query" or "header"
	Name     string
	Required bool
	Type     reflect.Type // the field's type, a pointer's element
	Min, Max *int64       // integers only
	MaxLen   int          // strings only
	Enum     []string
	Layout   string // dates only
	Format   string // the format tag, for types that read themselves
	Shape    string // what a value looks like (YYYY-MM-DD), for the refusal of a missing one
	Doc      string

	index []int
	ptr   bool
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	textUnmarshaler   = reflect.TypeFor[encoding.TextUnmarshaler]()
	readerType        = reflect.TypeFor[io.Reader]()
	paramSources      = []string{"path", "query", "header"}
	defaultBodyFormat = "application/octet-stream"
)

// MultipartForm is the content type of a Body whose struct documents the
// parts of a multipart/form-data request (files as FormFile). The binder
// leaves it empty: the handler reads the parts from the request as they
// stream, so it can bound each file before holding it.
const MultipartForm = "multipart/form-data"

// FormFile is a file part of a multipart form; the document calls it binary.
type FormFile []byte

// binder reads a request into a struct of type In.
type binder struct {
	params   []Param
	body     *reflect.StructField
	bodyType string // the content type of a body read as an io.Reader
	check    bool   // In has a Check() error method
}

// Checker is a request struct with a rule across its fields, called after
// binding: a refusal is answered like the binder's own.
type Checker interface {
	Check() error
}

func mustBinder[In any]() *binder {
	b, err := newBinder(reflect.TypeFor[In]())
	if err != nil {
		panic(fmt.Sprintf("api: request type %v: %v", reflect.TypeFor[In](), err))
	}
	return b
}

func newBinder(t reflect.Type) (*binder, error) {
	b := &binder{check: reflect.PointerTo(t).Implements(reflect.TypeFor[Checker]())}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("want a struct")
	}
	if err := b.fields(t, nil); err != nil {
		return nil, err
	}
	return b, nil
}

// fields adds t's fields; those of an embedded struct without tags (a
// shared set of parameters, such as a page) as if they were t's own.
func (b *binder) fields(t reflect.Type, index []int) error {
	for i := range t.NumField() {
		f := t.Field(i)
		f.Index = append(slices.Clone(index), f.Index...)
		if f.Anonymous && f.Tag == "" && f.Type.Kind() == reflect.Struct {
			if err := b.fields(f.Type, f.Index); err != nil {
				return err
			}
			continue
		}
		if f.Name == "Body" {
			b.body = &f
			switch ct := f.Tag.Get("content"); {
			case f.Type == readerType:
				b.bodyType = cmp.Or(ct, defaultBodyFormat)
			case ct == MultipartForm:
				b.bodyType = ct
			default:
				b.bodyType = "application/json"
			}
			continue
		}
		p, err := newParam(f)
		if err != nil {
			return fmt.Errorf("field %s: %v", f.Name, err)
		}
		b.params = append(b.params, p)
	}
	return nil
}

func newParam(f reflect.StructField) (Param, error) {
	p := Param{index: f.Index, Type: f.Type, Doc: f.Tag.Get("doc"), Format: f.Tag.Get("format"), Shape: f.Tag.Get("shape")}
	for _, src := range paramSources {
		if name, ok := f.Tag.Lookup(src); ok {
			if p.In != "" {
				return p, fmt.Errorf("both %s and %s", p.In, src)
			}
			p.In, p.Name = src, name
		}
	}
	if p.In == "" || p.Name == "" {
		return p, fmt.Errorf("tag it path, query or header, or name it Body")
	}
	p.Required = p.In == "path" || f.Tag.Get("required") == "true"
	if p.Type.Kind() == reflect.Pointer {
		p.Type, p.ptr = p.Type.Elem(), true
	}
	min, max, err := tagInts(f.Tag)
	if err != nil {
		return p, err
	}
	if e := f.Tag.Get("enum"); e != "" {
		p.Enum = strings.Split(e, ",")
	}
	switch {
	case p.Type == timeType:
		p.Layout = f.Tag.Get("layout")
		if p.Layout == "" {
			p.Layout = time.DateOnly
		}
		if p.Format == "" && p.Layout == time.DateOnly {
			p.Format = "date"
		}
	case reflect.PointerTo(p.Type).Implements(textUnmarshaler):
	case p.Type.Kind() == reflect.Int, p.Type.Kind() == reflect.Int64, p.Type.Kind() == reflect.Int32:
		lo, hi := int64(1), int64(input.MaxInt8)
		if p.Type.Kind() == reflect.Int32 {
			hi = input.MaxInt4
		}
		p.Min, p.Max = cmpOr(min, &lo), cmpOr(max, &hi)
	case p.Type.Kind() == reflect.String:
		if max == nil && p.Enum == nil {
			return p, fmt.Errorf("a string needs max (its length) or enum")
		}
		if max != nil {
			p.MaxLen = int(*max)
		}
	case p.Type.Kind() == reflect.Float64, p.Type.Kind() == reflect.Bool:
	default:
		return p, fmt.Errorf("type %v cannot be read from a string", p.Type)
	}
	if p.Shape == "" && p.Format == "date" {
		p.Shape = "YYYY-MM-DD"
	}
	return p, nil
}

func cmpOr(v, def *int64) *int64 {
	if v != nil {
		return v
	}
	return def
}

func tagInts(tag reflect.StructTag) (min, max *int64, err error) {
	read := func(name string) (*int64, error) {
		s, ok := tag.Lookup(name)
		if !ok {
			return nil, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("tag %s=%q is no integer", name, s)
		}
		return &n, nil
	}
	if min, err = read("min"); err != nil {
		return nil, nil, err
	}
	max, err = read("max")
	return min, max, err
}

// bind fills dst, a value of the binder's struct type, from c.
func (b *binder) bind(c *gin.Context, dst reflect.Value) error {
	for _, p := range b.params {
		var raw string
		switch p.In {
		case "path":
			raw = c.Param(p.Name)
		case "query":
			raw = c.Query(p.Name)
		case "header":
			raw = c.GetHeader(p.Name)
		}
		// An empty value is an absent one, as it always was here; a path
		// parameter is never absent, and an empty one is refused as bad.
		if raw == "" && p.In != "path" {
			if p.Required {
				return p.missing()
			}
			continue
		}
		v := reflect.New(p.Type)
		if err := p.parse(raw, v); err != nil {
			return err
		}
		if !p.ptr {
			v = v.Elem()
		}
		dst.FieldByIndex(p.index).Set(v)
	}
	if b.body != nil && b.bodyType != MultipartForm {
		field := dst.FieldByIndex(b.body.Index)
		if b.body.Type == readerType {
			field.Set(reflect.ValueOf(c.Request.Body))
		} else if err := httpx.DecodeJSON(c, field.Addr().Interface()); err != nil {
			return err
		}
	}
	if b.check {
		return dst.Addr().Interface().(Checker).Check()
	}
	return nil
}

func (p Param) missing() error {
	if p.In == "header" {
		return apperr.InvalidField(p.Name, "the %s header is required", p.Name)
	}
	if p.Shape != "" {
		return apperr.InvalidField(p.Name, "query parameter %s=%s is required", p.Name, p.Shape)
	}
	return apperr.InvalidField(p.Name, "query parameter %s is required", p.Name)
}

// parse reads s into dst, a pointer to a value of p.Type, under p's rule.
func (p Param) parse(s string, dst reflect.Value) error {
	name := p.Name
	if t, ok := dst.Interface().(*time.Time); ok {
		d, err := input.ParseDate(name, p.Layout, s)
		*t = d
		return err
	}
	if u, ok := dst.Interface().(encoding.TextUnmarshaler); ok {
		return nameError(name, u.UnmarshalText([]byte(s)))
	}
	v := dst.Elem()
	switch v.Kind() {
	case reflect.String:
		if p.Enum != nil {
			if !slices.Contains(p.Enum, s) {
				return apperr.InvalidField(name, "%s must be %s", name, oneOf(p.Enum))
			}
		} else if p.Required {
			if err := input.CheckText(name, s, p.MaxLen); err != nil {
				return err
			}
		} else if err := input.CheckOptionalText(name, s, p.MaxLen); err != nil {
			return err
		}
		v.SetString(s)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return apperr.InvalidField(name, "%s must be a finite number, got %q", name, s)
		}
		v.SetFloat(f)
	case reflect.Bool:
		if s != "true" && s != "false" {
			return apperr.InvalidField(name, "%s must be true or false", name)
		}
		v.SetBool(s == "true")
	default: // the integers newParam admits
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < *p.Min || n > *p.Max {
			return apperr.InvalidField(name, "%s must be an integer from %d to %d", name, *p.Min, *p.Max)
		}
		v.SetInt(n)
	}
	return nil
}

// nameError names the field in a refusal of a value that reads itself: it
// says what the value must be, not where it is (as the JSON decoder does).
func nameError(name string, err error) error {
	e, ok := err.(*apperr.Error)
	switch {
	case err == nil:
		return nil
	case !ok:
		return apperr.InvalidField(name, "%s: %v", name, err)
	case e.Field == "":
		named := *e
		named.Field, named.Message = name, name+" "+e.Message
		return &named
	}
	return e
}

// oneOf lists values as a sentence does: a, b or c.
func oneOf(values []string) string {
	if len(values) == 1 {
		return values[0]
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}
