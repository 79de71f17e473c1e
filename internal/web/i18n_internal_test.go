package web

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template/parse"

	"golang.org/x/text/language"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
)

// pageErrorCodes are the codes of the errors a page can show: the accounts
// service's on the login, sign-up, code and password forms, connect's on
// the linking page, the inbox's on the inbox page, the kit's own, and a
// fault of ours. Every language, English included, has a text for exactly
// these: a page never shows an API's message.
var pageErrorCodes = []string{
	"invalid_session",
	"invalid_credentials", "account_pending", "account_blocked", "account_suspended",
	"missing_field", "invalid_phone", "invalid_password", "invalid_name", "invalid_email",
	"invalid_username", "phone_taken", "username_taken", "invalid_code", "code_expired",
	"too_many_attempts", "sms_country_not_allowed", "sms_budget_exhausted", "rate_limited", "unavailable",
	"internal_error", "link_not_found", "link_expired", "link_used", "link_taken",
	"csrf", "invalid_form", "invalid_action", "wrong_password", "invalid_cursor", "message_not_found",
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// testKit is a kit with web's own pages, over no store: enough to parse
// and render, not to serve.
func testKit(t *testing.T) *Kit {
	t.Helper()
	k, err := newKit(nil, nil, nil, nil, Config{PublicURL: "http://127.0.0.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Service{Kit: k}).register(); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestCatalogsComplete: every language has every English message, with the
// same verbs and markup, and no message English lacks.
func TestCatalogsComplete(t *testing.T) {
	k := testKit(t)
	en := k.locales[0].messages
	for _, l := range k.locales[1:] {
		for id, msg := range en {
			got, ok := l.messages[id]
			switch {
			case !ok:
				t.Errorf("%s lacks message %q", l.code(), id)
			case strings.Count(got, "%") != strings.Count(msg, "%"):
				t.Errorf("%s message %q = %q: its verbs differ from English %q", l.code(), id, got, msg)
			case !slices.Equal(tagRE.FindAllString(got, -1), tagRE.FindAllString(msg, -1)):
				t.Errorf("%s message %q = %q: its markup differs from English %q", l.code(), id, got, msg)
			}
		}
		for id := range l.messages {
			if _, ok := en[id]; !ok && !strings.HasPrefix(id, codePrefix) {
				t.Errorf("%s has message %q, which English lacks", l.code(), id)
			}
		}
	}
}

// errorCodes are the codes l translates.
func errorCodes(l *locale) []string {
	var codes []string
	for id := range l.messages {
		if code, ok := strings.CutPrefix(id, codePrefix); ok {
			codes = append(codes, code)
		}
	}
	return slices.Sorted(slices.Values(codes))
}

func TestErrorTranslationsComplete(t *testing.T) {
	k := testKit(t)
	want := slices.Sorted(slices.Values(pageErrorCodes))
	for _, l := range k.locales {
		if got := errorCodes(l); !slices.Equal(got, want) {
			t.Errorf("%s translates the errors\n%v\nwant\n%v", l.code(), got, want)
		}
	}
}

// TestStatusTitles checks that every status of an error page has a title in
// every language, English's that of http.StatusText.
func TestStatusTitles(t *testing.T) {
	k := testKit(t)
	for kind := errs.Internal; kind <= errs.Unavailable; kind++ {
		status := httpx.Status(kind)
		for _, l := range k.locales {
			if _, ok := l.messages["status."+strconv.Itoa(status)]; !ok {
				t.Errorf("%s lacks the title of status %d", l.code(), status)
			}
		}
		if got := k.locales[0].statusText(status); got != http.StatusText(status) {
			t.Errorf("English title of %d = %q, want %q", status, got, http.StatusText(status))
		}
	}
}

// TestTemplatesUseKnownMessages reads every call of t in the templates: its
// id must be a literal, so that this test sees it, and a message English
// has. Every English message must be used, by a template or by the Go code
// (the switcher's language names, the error pages' titles).
func TestTemplatesUseKnownMessages(t *testing.T) {
	k := testKit(t)
	en := k.locales[0].messages
	used := map[string]bool{"language.name": true, "error.gone_title": true}
	for id := range en {
		// Error texts are looked up by code: TestErrorTranslationsComplete.
		if strings.HasPrefix(id, "status.") || strings.HasPrefix(id, codePrefix) {
			used[id] = true
		}
	}
	for name, page := range k.pages {
		for _, tmpl := range page["en"].Templates() {
			if tmpl.Tree == nil {
				continue
			}
			walk(tmpl.Tree.Root, func(c *parse.CommandNode) {
				if id, ok := c.Args[0].(*parse.IdentifierNode); !ok || id.Ident != "t" {
					return
				}
				var s *parse.StringNode
				if len(c.Args) > 1 {
					s, _ = c.Args[1].(*parse.StringNode)
				}
				if s == nil {
					t.Errorf("%s/%s: %s: t needs a literal message id", name, tmpl.Name(), c)
					return
				}
				if _, ok := en[s.Text]; !ok {
					t.Errorf("%s/%s: unknown message %q", name, tmpl.Name(), s.Text)
				}
				used[s.Text] = true
			})
		}
	}
	for id := range en {
		if !used[id] {
			t.Errorf("message %q is used nowhere", id)
		}
	}
}

// walk calls visit with every command under n.
func walk(n parse.Node, visit func(*parse.CommandNode)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				walk(c, visit)
			}
		}
	case *parse.ActionNode:
		walk(n.Pipe, visit)
	case *parse.IfNode:
		walkBranch(&n.BranchNode, visit)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, visit)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, visit)
	case *parse.TemplateNode:
		walk(n.Pipe, visit)
	case *parse.PipeNode:
		if n != nil {
			for _, c := range n.Cmds {
				visit(c)
				for _, arg := range c.Args {
					walk(arg, visit)
				}
			}
		}
	}
}

func walkBranch(b *parse.BranchNode, visit func(*parse.CommandNode)) {
	walk(b.Pipe, visit)
	walk(b.List, visit)
	walk(b.ElseList, visit)
}

func TestMatchLanguage(t *testing.T) {
	tests := []struct {
		preferred []string
		want      string
	}{
		{[]string{"nl"}, "nl"},
		{[]string{"nl-BE"}, "nl"},
		{[]string{"en"}, "en"},
		{[]string{"en-GB", "nl"}, "en"},
		{[]string{"de"}, "de"},
		{[]string{"de-AT"}, "de"},
		{[]string{"de-CH", "fr"}, "de"},
		{[]string{"fr"}, "fr"},
		{[]string{"fr-CA"}, "fr"},
		{[]string{"fr-BE", "nl-BE"}, "fr"},
		{[]string{"es", "nl"}, "nl"},
		{[]string{"es"}, "en"},
		{[]string{"ja", "fr-CH"}, "fr"},
		{[]string{"not a tag"}, "en"},
		{nil, "en"},
	}
	for _, tt := range tests {
		tags := make([]language.Tag, len(tt.preferred))
		for i, p := range tt.preferred {
			tags[i] = language.Make(p)
		}
		if got := matchLanguage(tags...); got != tt.want {
			t.Errorf("matchLanguage(%v) = %s, want %s", tt.preferred, got, tt.want)
		}
	}
}

func TestPageLanguage(t *testing.T) {
	tests := []struct {
		name, query, cookie, accept string
		hints                       []string
		want                        string
	}{
		{"query over cookie and header", "nl", "en", "en", nil, "nl"},
		{"query en over cookie nl", "en", "nl", "nl", nil, "en"},
		{"query de", "de", "", "fr", nil, "de"},
		{"query fr", "fr", "de", "de", nil, "fr"},
		{"cookie over header", "", "nl", "en-US,en;q=0.9", nil, "nl"},
		{"cookie fr", "", "fr", "nl", nil, "fr"},
		{"header", "", "", "es-ES, nl-BE;q=0.8, en;q=0.5", nil, "nl"},
		{"header de", "", "", "de-DE, nl-BE;q=0.8, en;q=0.5", nil, "de"},
		{"header fr", "", "", "fr-FR,fr;q=0.9,en;q=0.8", nil, "fr"},
		{"header by quality", "", "", "en;q=0.5, fr;q=0.9", nil, "fr"},
		{"default", "", "", "", nil, "en"},
		{"unsupported header", "", "", "es-ES", nil, "en"},
		{"malformed header", "", "", "nl;q=oops;;", nil, "en"},
		{"bad query falls to cookie", "xx", "nl", "en", nil, "nl"},
		{"bad query falls to header", "<script>", "", "nl", nil, "nl"},
		{"query is a code, not a tag", "NL", "", "", nil, "en"},
		{"query de-DE is not a code", "de-DE", "", "", nil, "en"},
		{"bad cookie falls to header", "", "nl-NL", "nl", nil, "nl"},
		{"hint over header", "", "", "nl", []string{"de"}, "de"},
		{"hint as a tag", "", "", "", []string{"fr-BE"}, "fr"},
		{"cookie over hint", "", "nl", "", []string{"de"}, "nl"},
		{"query over hint", "en", "", "", []string{"fr"}, "en"},
		{"unsupported hint falls to header", "", "", "nl", []string{"es"}, "nl"},
		{"malformed hint ignored", "", "", "fr", []string{"no such tag!"}, "fr"},
		{"empty hint ignored", "", "", "", []string{""}, "en"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/login?lang="+url.QueryEscape(tt.query), nil)
		if tt.cookie != "" {
			r.AddCookie(&http.Cookie{Name: langCookie, Value: tt.cookie})
		}
		if tt.accept != "" {
			r.Header.Set("Accept-Language", tt.accept)
		}
		if got := pageLanguage(r, tt.hints...); got != tt.want {
			t.Errorf("%s: pageLanguage = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestTextEscapesArguments(t *testing.T) {
	k := testKit(t)
	nl := k.locale("nl")
	got, err := nl.text("consent.intro_html", `<b>"A&B"</b>`)
	if err != nil {
		t.Fatal(err)
	}
	want := template.HTML(`Als je dit goedkeurt, kan <strong class="app-name">&lt;b&gt;&#34;A&amp;B&#34;&lt;/b&gt;</strong>:`)
	if got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	if got, _ := nl.text("consent.title", "A&B"); got != "A&B koppelen" {
		t.Errorf("text of a plain message = %#v, want the string %q, escaped by the template", got, "A&B koppelen")
	}
	if _, err := nl.text("no.such.message"); err == nil {
		t.Error("an unknown message id is no error")
	}
}

// TestTextFallsBackToEnglish: a message a language lacks is English's; an
// error code it does not translate shows the error's own message.
func TestTextFallsBackToEnglish(t *testing.T) {
	k := testKit(t)
	k.locale("en").messages["only.english"] = "Only %s"
	de := k.locale("de")
	if got, err := de.text("only.english", "English"); err != nil || got != "Only English" {
		t.Errorf("text = %v, %v; want the English text", got, err)
	}
	e := errs.E(errs.Invalid, "no_such_code", "The English message")
	if got := de.errorText(e); got != e.Message {
		t.Errorf("errorText = %q, want %q", got, e.Message)
	}
	if got := de.errorText(errCSRF); got != "Dieses Formular ist abgelaufen. Gehen Sie zurück und versuchen Sie es erneut." {
		t.Errorf("errorText(csrf) = %q", got)
	}
}
