package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"github.com/molecule-ai/molecule-host/sdk"
)

// maxBody caps request bodies of the admin routes (limitBody); the agent
// routes have smaller caps of their own.
const maxBody = 2 << 20

// limitBody caps every request body at n bytes before any handler reads it;
// decode then answers 413 for a larger one.
func limitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// decode reads a JSON body into v, refusing unknown fields, trailing data
// and NUL bytes in any string (Postgres cannot store them), and turns every
// failure into a KindInvalid error naming the field,
// or a 413 when the body is over its http.MaxBytesReader cap (limitBody, or
// the agent helper's own); it never reads more than maxBody+1 bytes.
func decode(r *http.Request, op string, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody+1))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// Read on to the end: trailing data is refused, and so is a body
		// that is over its cap after the value (413).
		if _, terr := dec.Token(); terr != io.EOF {
			err = terr
			if err == nil {
				err = errors.New("trailing data after the JSON object")
			}
		}
	}
	if err == nil {
		if p, ok := nulField(reflect.ValueOf(v), ""); ok {
			return sdk.Invalid(op, "The request body has a string with a NUL byte, which the host cannot store.",
				sdk.FieldError{Path: p, Message: "must not contain a NUL byte"})
		}
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	var synErr *json.SyntaxError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return errTooLarge(tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return sdk.Invalid(op, "The request body is empty; a JSON object is required.")
	case errors.As(err, &typeErr):
		return sdk.Invalid(op, "The request body has a field of the wrong type.",
			sdk.FieldError{Path: typeErr.Field, Message: fmt.Sprintf("must be %s", jsonType(typeErr.Type.Kind().String()))})
	case errors.As(err, &synErr):
		return sdk.Invalid(op, fmt.Sprintf("The request body is not valid JSON (at byte %d).", synErr.Offset))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return sdk.Invalid(op, "The request body has an unknown field.", sdk.FieldError{Path: f, Message: "is not a known field"})
	}
	return sdk.Invalid(op, "The request body could not be read: "+err.Error())
}

func jsonType(kind string) string {
	switch kind {
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	case "bool":
		return "a boolean"
	}
	return kind
}

// nulField returns the JSON path (as sdk.FieldError paths are written:
// "config.a.yaml", "agent_card.skills[0].name") of the first string in v,
// map keys included, that holds a NUL byte. Byte slices (raw JSON) are not
// strings and are skipped.
func nulField(v reflect.Value, path string) (string, bool) {
	join := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return nulField(v.Elem(), path)
		}
	case reflect.String:
		return path, strings.IndexByte(v.String(), 0) >= 0
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if p, ok := nulField(v.Field(i), join(name)); ok {
				return p, true
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			name := fmt.Sprint(k.Interface())
			if strings.IndexByte(name, 0) >= 0 {
				return join(name), true
			}
			if p, ok := nulField(v.MapIndex(k), join(name)); ok {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "", false
		}
		for i := range v.Len() {
			if p, ok := nulField(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, true
			}
		}
	}
	return "", false
}
