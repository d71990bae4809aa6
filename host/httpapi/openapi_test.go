package httpapi_test

import (
	"context"
	"net/http"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/mux"

	"github.com/molecule-ai/molecule-host/host/httpapi"
)

// TestOpenAPIMatchesRouter checks docs/openapi.yaml against the router:
// every route is documented and nothing is documented that is not routed.
func TestOpenAPIMatchesRouter(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	spec := filepath.Join(filepath.Dir(file), "..", "..", "docs", "openapi.yaml")
	doc, err := openapi3.NewLoader().LoadFromFile(spec)
	if err != nil {
		t.Fatalf("loading %s: %v", spec, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI document: %v", spec, err)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	var routed []string
	srv := httpapi.New(httpapi.Deps{})
	err = srv.Router().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tmpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil // a subrouter prefix, not an endpoint
		}
		for _, m := range methods {
			routed = append(routed, m+" "+tmpl)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(documented)
	sort.Strings(routed)
	if diff := cmp.Diff(documented, routed); diff != "" {
		t.Errorf("docs/openapi.yaml vs router (-documented +routed):\n%s", diff)
	}
	for _, r := range routed {
		if !strings.HasPrefix(r, http.MethodGet) && !strings.HasPrefix(r, http.MethodHead) && !strings.HasPrefix(r, http.MethodPost) &&
			!strings.HasPrefix(r, http.MethodPatch) && !strings.HasPrefix(r, http.MethodDelete) {
			t.Errorf("unexpected method in %s", r)
		}
	}
}
