package openapi

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"

	"groupbuy/internal/api"
)

// schemas builds JSON schemas of Go types by reflection, as encoding/json
// (which gin answers with) writes them: named structs become components,
// fields without omitempty or omitzero are required, and an object admits
// no member its type lacks (request bodies refuse unknown members, and a
// response writes only its fields). Slices, maps and pointers may be null.
type schemas struct {
	types  map[reflect.Type]*openapi3.Schema // given: types that write themselves
	comps  openapi3.Schemas
	nameOf map[reflect.Type]string
	taken  map[string]reflect.Type
}

func newSchemas(types map[reflect.Type]*openapi3.Schema) *schemas {
	return &schemas{types: types, comps: openapi3.Schemas{}, nameOf: map[reflect.Type]string{}, taken: map[string]reflect.Type{}}
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}

func typed(name string) *openapi3.Types { return &openapi3.Types{name} }

// ref returns the schema of t: a $ref for a named struct, else inline.
func (g *schemas) ref(t reflect.Type) (*openapi3.SchemaRef, error) {
	if s, ok := g.types[t]; ok {
		c := *s
		return openapi3.NewSchemaRef("", &c), nil
	}
	s := &openapi3.Schema{}
	switch {
	case t.Kind() == reflect.Pointer:
		inner, err := g.ref(t.Elem())
		if err != nil {
			return nil, err
		}
		return nullable(inner), nil
	case t == timeType:
		s.Type, s.Format = typed("string"), "date-time"
		return openapi3.NewSchemaRef("", s), nil
	case t == reflect.TypeFor[api.FormFile]():
		s.Type, s.Format = typed("string"), "binary"
		return openapi3.NewSchemaRef("", s), nil
	case implements(t, textMarshaler):
		// A value that writes itself as text is a JSON string; what it
		// looks like (a date, HH:MM) Options.Types may say.
		s.Type = typed("string")
		return openapi3.NewSchemaRef("", s), nil
	case implements(t, jsonMarshaler):
		return nil, fmt.Errorf("%v writes its own JSON: give its schema in Options.Types", t)
	}
	switch t.Kind() {
	case reflect.Bool:
		s.Type = typed("boolean")
	case reflect.Int, reflect.Int64:
		s.Type, s.Format = typed("integer"), "int64"
	case reflect.Int8, reflect.Int16, reflect.Int32:
		s.Type, s.Format = typed("integer"), "int32"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s.Type = typed("integer")
		s.Min = new(float64)
	case reflect.Float32, reflect.Float64:
		s.Type = typed("number")
	case reflect.String:
		s.Type = typed("string")
	case reflect.Interface:
		s.Nullable = true // anything, null too
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			s.Type, s.Format = typed("string"), "byte"
			break
		}
		items, err := g.ref(t.Elem())
		if err != nil {
			return nil, err
		}
		s.Type, s.Items = typed("array"), items
		if t.Kind() == reflect.Array {
			n := uint64(t.Len())
			s.MinItems, s.MaxItems = n, &n
		} else {
			s.Nullable = true // a nil slice is written null
		}
	case reflect.Map:
		values, err := g.ref(t.Elem())
		if err != nil {
			return nil, err
		}
		s.Type, s.Nullable = typed("object"), true
		s.AdditionalProperties = openapi3.AdditionalProperties{Schema: values}
	case reflect.Struct:
		return g.structRef(t)
	default:
		return nil, fmt.Errorf("%v has no JSON form", t)
	}
	return openapi3.NewSchemaRef("", s), nil
}

// structRef makes a named struct a component (once), an anonymous one inline.
func (g *schemas) structRef(t reflect.Type) (*openapi3.SchemaRef, error) {
	if t.Name() == "" {
		s, err := g.object(t)
		return openapi3.NewSchemaRef("", s), err
	}
	name, ok := g.nameOf[t]
	if !ok {
		name = g.componentName(t)
		g.nameOf[t], g.taken[name] = name, t
		s, err := g.object(t)
		if err != nil {
			return nil, err
		}
		g.comps[name] = openapi3.NewSchemaRef("", s)
	}
	return openapi3.NewSchemaRef("#/components/schemas/"+name, nil), nil
}

// componentName is the type's name, qualified by its package's when two
// packages have a type of that name.
func (g *schemas) componentName(t reflect.Type) string {
	name := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, t.Name())
	if other, ok := g.taken[name]; ok && other != t {
		pkg := t.PkgPath()[strings.LastIndexByte(t.PkgPath(), '/')+1:]
		name = strings.ToUpper(pkg[:1]) + pkg[1:] + name
	}
	return name
}

func (g *schemas) object(t reflect.Type) (*openapi3.Schema, error) {
	s := &openapi3.Schema{Type: typed("object"), Properties: openapi3.Schemas{}}
	no := false
	s.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	if err := g.fields(t, s); err != nil {
		return nil, fmt.Errorf("%v: %w", t, err)
	}
	return s, nil
}

// fields adds t's fields to s as encoding/json writes them: the fields of
// an embedded struct without a name are promoted; an outer field of the
// same name wins over a promoted one.
func (g *schemas) fields(t reflect.Type, s *openapi3.Schema) error {
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := s.Properties[name]; dup {
			continue
		}
		ref, err := g.field(f, hasOpt(opts, "string"))
		if err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
		s.Properties[name] = ref
		if !hasOpt(opts, "omitempty") && !hasOpt(opts, "omitzero") {
			s.Required = append(s.Required, name)
		}
	}
	for _, e := range embedded {
		if err := g.fields(e, s); err != nil {
			return err
		}
	}
	return nil
}

func hasOpt(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// field is f's schema with what its tags add: doc, enum, format, min, max
// (the length of a string).
func (g *schemas) field(f reflect.StructField, quoted bool) (*openapi3.SchemaRef, error) {
	ref, err := g.ref(f.Type)
	if err != nil {
		return nil, err
	}
	if quoted { // ,string: a number or bool written as a JSON string
		ref = openapi3.NewSchemaRef("", &openapi3.Schema{Type: typed("string")})
	}
	tag := f.Tag
	_, hasEnum := tag.Lookup("enum")
	_, hasMin := tag.Lookup("min")
	_, hasMax := tag.Lookup("max")
	if tag.Get("doc") == "" && !hasEnum && tag.Get("format") == "" && !hasMin && !hasMax {
		return ref, nil
	}
	s := &openapi3.Schema{}
	if ref.Ref != "" {
		s.AllOf = openapi3.SchemaRefs{ref} // siblings of a $ref are ignored in 3.0
	} else {
		c := *ref.Value
		s = &c
	}
	s.Description = tag.Get("doc")
	if f := tag.Get("format"); f != "" {
		s.Format = f
	}
	if hasEnum {
		s.Enum = nil
		for v := range strings.SplitSeq(tag.Get("enum"), ",") {
			s.Enum = append(s.Enum, v)
		}
	}
	return openapi3.NewSchemaRef("", s), bounds(s, tag)
}

// bounds applies min and max: the value of a number, the length of a string.
func bounds(s *openapi3.Schema, tag reflect.StructTag) error {
	for _, k := range []string{"min", "max"} {
		v, ok := tag.Lookup(k)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("tag %s=%q is no integer", k, v)
		}
		switch {
		case s.Type.Is("string") && k == "min":
			s.MinLength = uint64(n)
		case s.Type.Is("string"):
			u := uint64(n)
			s.MaxLength = &u
		case k == "min":
			f := float64(n)
			s.Min = &f
		default:
			f := float64(n)
			s.Max = &f
		}
	}
	return nil
}

// nullable lets ref be null too.
func nullable(ref *openapi3.SchemaRef) *openapi3.SchemaRef {
	if ref.Ref != "" {
		return openapi3.NewSchemaRef("", &openapi3.Schema{Nullable: true, AllOf: openapi3.SchemaRefs{ref}})
	}
	c := *ref.Value
	c.Nullable = true
	return openapi3.NewSchemaRef("", &c)
}
