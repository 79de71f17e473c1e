package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/sms/smstest"
)

func TestLoginFormErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		ctx := context.Background()
		active := e.user()
		blocked, suspended := e.user(), e.user()
		if _, err := e.acc.SetStatus(ctx, blocked.Phone, accounts.StatusBlocked); err != nil {
			t.Fatal(err)
		}
		if _, err := e.acc.SetStatus(ctx, suspended.Phone, accounts.StatusSuspended); err != nil {
			t.Fatal(err)
		}
		pending, err := e.acc.Signup(ctx, accounts.NewUser{Phone: e.phone(), Password: password,
			FirstName: "P", LastName: "Q", Email: "p@example.com"}, accounts.Caller{})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, phone, password string
			status                int
			text                  string
		}{
			{"wrong password", active.Phone, "wrong password", http.StatusUnauthorized, "Wrong phone number or password."},
			{"unknown phone", "+14155559999", password, http.StatusUnauthorized, "Wrong phone number or password."},
			{"bad phone", "not a phone", password, http.StatusBadRequest, ""},
			{"no password", active.Phone, "", http.StatusBadRequest, ""},
			{"pending", pending.Phone, password, http.StatusForbidden, `href="/signup/verify?phone=`},
			{"blocked", blocked.Phone, password, http.StatusForbidden, "This account is blocked"},
			{"suspended", suspended.Phone, password, http.StatusForbidden, "This account is suspended"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := e.browser()
				p := b.submit("/login", "/login", url.Values{"phone": {tt.phone}, "password": {tt.password}})
				want(t, tt.name, p, tt.status, tt.text)
				if !strings.Contains(p.body, `id="error"`) || p.value("phone") != tt.phone {
					t.Errorf("%s: the form shows no error or lost the phone %q:\n%s", tt.name, tt.phone, p.body)
				}
				if b.cookie("linkbox_session") != "" {
					t.Errorf("%s: a session cookie was set", tt.name)
				}
			})
		}
	})
}

func TestLoginRateLimited(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	u := e.user()
	b := e.browser()
	form := url.Values{"phone": {u.Phone}, "password": {"wrong password"}}
	var p page
	for range 11 {
		p = b.submit("/login", "/login", form)
	}
	want(t, "11th wrong password", p, http.StatusTooManyRequests, "Too many tries. Wait a few minutes and try again.")
	if p.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}

func TestLoginNext(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		u := e.user()
		tests := []struct{ next, want string }{
			{"", "/inbox"},
			{"/account", "/account"},
			{"/linking/abc?x=1", "/linking/abc?x=1"},
			{"//evil.com", "/inbox"},
			{"https://evil.com", "/inbox"},
			{`/\evil.com`, "/inbox"},
			{"/\t/evil.com", "/inbox"},
			{"javascript:alert(1)", "/inbox"},
		}
		for _, tt := range tests {
			b := e.browser()
			p := b.submit("/login?next="+url.QueryEscape(tt.next), "/login",
				url.Values{"phone": {u.Phone}, "password": {password}, "next": {tt.next}})
			want(t, "login next="+tt.next, p, http.StatusSeeOther, "")
			if got := p.location(); got != tt.want {
				t.Errorf("next=%q: Location = %q, want %q", tt.next, got, tt.want)
			}
		}
	})
}

func TestLoginPageKeepsLocalNextOnly(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	b := e.browser()
	p := b.get("/login?next=" + url.QueryEscape("//evil.com"))
	want(t, "login page", p, http.StatusOK, `<label for="phone">Phone number</label>`)
	if strings.Contains(p.body, "evil.com") {
		t.Errorf("the login page kept a foreign next:\n%s", p.body)
	}
	p = b.get("/login?next=%2Faccount")
	for _, s := range []string{`name="next" value="/account"`, `href="/signup?next=%2faccount"`, "Log in</button>", `<label for="password">Password</label>`} {
		if !strings.Contains(p.body, s) {
			t.Errorf("login page lacks %q:\n%s", s, p.body)
		}
	}
}

func TestSignupVerifySignsIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		b := e.browser()
		phone := e.phone()
		form := url.Values{"phone": {phone}, "password": {password}, "first_name": {"Grace"},
			"last_name": {"Hopper"}, "email": {"not an email"}, "next": {"/account"}}
		p := b.submit("/signup?next=%2Faccount", "/signup", form)
		want(t, "sign-up with a bad email", p, http.StatusBadRequest, `id="error"`)
		if p.value("first_name") != "Grace" || p.value("phone") != phone {
			t.Errorf("the sign-up form lost its fields:\n%s", p.body)
		}

		form.Set("email", "grace@example.com")
		p = b.submit("/signup?next=%2Faccount", "/signup", form)
		want(t, "sign-up", p, http.StatusSeeOther, "")
		verify := p.location()
		if wantLoc := "/signup/verify?next=%2Faccount&phone=" + url.QueryEscape(phone) + "&sent=1"; verify != wantLoc {
			t.Fatalf("sign-up Location = %q, want %q", verify, wantLoc)
		}
		code := smsCode(t, e.gw, phone)

		p = b.submit(verify, "/signup/verify", url.Values{"phone": {phone}, "code": {wrongCode(code)}, "next": {"/account"}})
		want(t, "wrong code", p, http.StatusBadRequest, "That code is not right. Check the SMS, or ask for a new code.")
		if b.cookie("linkbox_session") != "" {
			t.Fatal("a wrong code signed in")
		}
		p = b.submit(verify, "/signup/verify", url.Values{"phone": {phone}, "code": {code}, "next": {"/account"}})
		want(t, "verify", p, http.StatusSeeOther, "")
		if got := p.location(); got != "/account" {
			t.Errorf("verify Location = %q, want /account", got)
		}
		want(t, "account after sign-up", b.get("/account"), http.StatusOK, "No app is linked")
	})
}

func TestResendCode(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	b := e.browser()
	phone := e.phone()
	p := b.submit("/signup", "/signup", url.Values{"phone": {phone}, "password": {password},
		"first_name": {"G"}, "last_name": {"H"}, "email": {"g@example.com"}})
	want(t, "sign-up", p, http.StatusSeeOther, "")
	smsCode(t, e.gw, phone)
	e.clock.Advance(2 * time.Minute) // past the one-SMS-a-minute cooldown
	p = b.submit(p.location(), "/signup/resend", url.Values{"phone": {phone}})
	want(t, "resend", p, http.StatusOK, "a new one is on its way")
	code := smsCode(t, e.gw, phone)
	p = b.submit("/signup/verify?phone="+url.QueryEscape(phone), "/signup/verify", url.Values{"phone": {phone}, "code": {code}})
	want(t, "verify the resent code", p, http.StatusSeeOther, "")
	if got := p.location(); got != "/inbox" {
		t.Errorf("verify Location = %q, want /inbox", got)
	}
}

func smsCode(t *testing.T, gw *smstest.Gateway, phone string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := gw.Wait(ctx, phone)
	if err != nil {
		t.Fatal(err)
	}
	code := smstest.Code(m.Body)
	if code == "" {
		t.Fatalf("SMS %q has no code", m.Body)
	}
	return code
}

func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

func TestBlockedAccountSessionRejected(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		u := e.user()
		b := e.browser()
		b.login(u)
		want(t, "inbox", b.get("/inbox"), http.StatusOK, "Inbox")
		if _, err := e.acc.SetStatus(context.Background(), u.Phone, accounts.StatusBlocked); err != nil {
			t.Fatal(err)
		}
		p := b.get("/inbox")
		want(t, "inbox of a blocked account", p, http.StatusSeeOther, "")
		if got := p.location(); got != "/login?next=%2Finbox" {
			t.Errorf("Location = %q, want /login?next=%%2Finbox", got)
		}
		if _, err := e.web.UserID(cookieRequest(b.cookie("linkbox_session"))); !errs.Is(err, errs.Unauthorized, "invalid_session") {
			t.Errorf("UserID of a blocked account's session: err = %v, want Unauthorized invalid_session", err)
		}
		if n := e.sessions(u.ID); n != 0 {
			t.Errorf("%d page sessions left after the block, want 0", n)
		}
		if _, err := e.acc.SetStatus(context.Background(), u.Phone, accounts.StatusActive); err != nil {
			t.Fatal(err)
		}
		want(t, "inbox once unblocked, with the old cookie", b.get("/inbox"), http.StatusSeeOther, "")
	})
}

// TestPasswordResetEndsPageSessions: a reset signs out every browser, and
// a session made before it is refused even if its row were left behind.
func TestPasswordResetEndsPageSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		ctx := context.Background()
		u := e.user()
		b := e.browser()
		b.login(u)
		if err := e.acc.Forgot(ctx, u.Phone, accounts.Caller{}); err != nil {
			t.Fatal(err)
		}
		sms, err := e.gw.Wait(ctx, u.Phone)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.acc.Reset(ctx, u.Phone, smstest.Code(sms.Body), "a new password", accounts.Caller{}); err != nil {
			t.Fatal(err)
		}
		if n := e.sessions(u.ID); n != 0 {
			t.Errorf("%d page sessions left after the reset, want 0", n)
		}
		want(t, "inbox after the reset", b.get("/inbox"), http.StatusSeeOther, "")
	})
}

// sessions counts the page sessions of userID.
func (e *env) sessions(userID string) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM web_sessions WHERE user_id = ?`, userID).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func cookieRequest(session string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/v1/inbox/stream", nil)
	if session != "" {
		r.AddCookie(&http.Cookie{Name: "linkbox_session", Value: session})
	}
	return r
}

func TestUserID(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		u := e.user()
		b := e.browser()
		b.login(u)
		session := b.cookie("linkbox_session")
		got, err := e.web.UserID(cookieRequest(session))
		if err != nil || got != u.ID {
			t.Fatalf("UserID = %q, %v; want %q", got, err, u.ID)
		}
		for _, bad := range []string{"", "nope", strings.Repeat("x", 200)} {
			if _, err := e.web.UserID(cookieRequest(bad)); !errs.Is(err, errs.Unauthorized, "invalid_session") {
				t.Errorf("UserID(cookie %q): err = %v, want Unauthorized invalid_session", bad, err)
			}
		}
		e.clock.Advance(7*24*time.Hour + time.Second)
		if _, err := e.web.UserID(cookieRequest(session)); !errs.Is(err, errs.Unauthorized, "invalid_session") {
			t.Errorf("UserID after 7 days: err = %v, want Unauthorized invalid_session", err)
		}
	})
}

func TestLogout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		b := e.browser()
		b.login(e.user())
		session := b.cookie("linkbox_session")
		p := b.submit("/account", "/logout", url.Values{})
		want(t, "logout", p, http.StatusSeeOther, "")
		if got := p.location(); got != "/login" {
			t.Errorf("logout Location = %q, want /login", got)
		}
		if b.cookie("linkbox_session") != "" {
			t.Error("the session cookie survived the logout")
		}
		if _, err := e.web.UserID(cookieRequest(session)); err == nil {
			t.Error("the session still works after logout")
		}
		want(t, "account after logout", b.get("/account"), http.StatusSeeOther, "")
	})
}
