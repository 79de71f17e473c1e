package app_test

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestOpenAPIRoutes holds the document to the mux both ways. Each documented
// operation is served: a request without credentials is answered by the
// operation (its answer checked against the document), not by the mux's 404
// or 405. And each route registered in the source, outside the hosted pages,
// is documented: ServeMux cannot list its patterns, so the registrations are
// read from the code, where STYLE.md keeps them as literals.
func TestOpenAPIRoutes(t *testing.T) {
	c := newContract(t, dbtest.SQLite(t))
	documented := map[string]bool{}
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
			c.probe(t, method, path)
		}
	}
	registered := registrations(t)
	for p, at := range registered {
		if !documented[p] {
			t.Errorf("%s registers %q, which the document lacks", at, p)
		}
	}
	for p := range documented {
		if _, ok := registered[p]; !ok {
			t.Errorf("the document has %q, which no code registers", p)
		}
	}
}

// pathParam matches a parameter of a documented path.
var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// probe sends a request without credentials to a documented operation.
func (c *contract) probe(t *testing.T, method, path string) {
	t.Helper()
	e := exchange{method: method, target: pathParam.ReplaceAllString(path, "probe")}
	if method == http.MethodPost {
		e.body = "{}"
	}
	r := e.request("")
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp, err := http.DefaultClient.Do(e.request(c.url))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	byMux := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") &&
		(resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed)
	if byMux {
		t.Errorf("%s %s is documented but not served: %d %s", method, path, resp.StatusCode, body)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route}
	c.checkResponse(t, in, &result{status: resp.StatusCode, header: resp.Header, body: body})
}

// notJSON are the directories whose registrations are no JSON API: the
// hosted HTML pages, and the fake SMS providers' and manufacturer's own test servers.
var notJSON = []string{"internal/web", "internal/sms/smstest", "internal/devicelinks/manufacturertest"}

// registrations reads every mux.Handle and mux.HandleFunc pattern of the
// module's internal packages, outside notJSON and tests, and returns each
// with where it is registered.
func registrations(t *testing.T) map[string]string {
	t.Helper()
	root := moduleRoot(t)
	found := map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, path)
		switch {
		case err != nil:
			return err
		case d.IsDir() && slices.Contains(notJSON, filepath.ToSlash(rel)):
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go"):
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				addRegistration(t, fset, call, found)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < 10 {
		t.Fatalf("found only %d registrations: the source has moved from under this test", len(found))
	}
	return found
}

// addRegistration adds call's pattern to found when call registers a
// route: mux.Handle(…) or mux.HandleFunc(…), or any X.Handle("…", h).
func addRegistration(t *testing.T, fset *token.FileSet, call *ast.CallExpr, found map[string]string) {
	t.Helper()
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") || len(call.Args) != 2 {
		return
	}
	at := fset.Position(call.Pos()).String()
	lit, isLit := call.Args[0].(*ast.BasicLit)
	recv, _ := sel.X.(*ast.Ident)
	if !isLit || lit.Kind != token.STRING {
		if recv != nil && recv.Name == "mux" {
			t.Errorf("%s: the pattern is not a literal, so this test cannot read it", at)
		}
		return
	}
	pattern, err := strconv.Unquote(lit.Value)
	if err != nil {
		t.Fatalf("%s: %v", at, err)
	}
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		t.Errorf("%s: %q serves every method; a JSON route names its method", at, pattern)
		return
	}
	found[method+" "+path] = at
}

// moduleRoot is the directory of go.mod, above the test's own.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}
