package connect_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/inbox"
)

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestSeedExamples replays the seed document's five curl examples, in the
// order of its flow, and checks every field of every answer.
func TestSeedExamples(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		ctx := context.Background()
		app, key := e.createApp("Your-App")
		john := e.createUser("Hello.World@Gmail.com", "johndoe")

		// 1. Link Account, not linked yet.
		r := e.post(key, "/api/link-account", `{
"user_id": "100",
"return_url": "https://your-app.com/nofbox-return/100"
}`)
		if r.status != http.StatusOK || len(r.body) != 2 || r.body["linked"] != false {
			t.Fatalf("link-account: %d %v, want 200 {linked:false, url}", r.status, r.body)
		}
		token := tokenOf(t, r.body["url"].(string))
		pending, err := e.svc.PendingLink(ctx, token)
		if err != nil {
			t.Fatalf("PendingLink: %v", err)
		}
		want := "https://your-app.com/nofbox-return/100"
		if pending.AppID != app.ID || pending.AppName != "Your-App" || pending.ReturnURL != want ||
			!pending.ExpiresAt.Equal(e.clock.Now().Add(15*time.Minute)) {
			t.Fatalf("PendingLink = %+v, want app %s Your-App, return URL %s, expiring in 15 min", pending, app.ID, want)
		}
		returnURL, err := e.svc.ApproveLink(ctx, token, john.id)
		if err != nil || returnURL != want {
			t.Fatalf("ApproveLink = %q, %v; want %q", returnURL, err, want)
		}

		// 1. Link Account, already linked.
		r = e.post(key, "/api/link-account", `{"user_id": "100", "return_url": "https://your-app.com/nofbox-return/100"}`)
		wantBody(t, "link-account (linked)", r, http.StatusOK, map[string]any{
			"linked":   true,
			"email":    md5Hex("hello.world@gmail.com") + "-he****@gmail.com",
			"phone":    md5Hex(john.phone) + "-9982",
			"username": "johndoe",
		})

		// 3. Send OTP: the code lands in the inbox with the app's message.
		r = e.post(key, "/api/otp", `{
"user_id": "100",
"reference": "login",
"message": "Use this OTP code to login to Your-App"
}`)
		wantBody(t, "otp", r, http.StatusOK, success)
		msg := e.newest(john)
		if msg.Type != inbox.TypeOTP || msg.Source != (inbox.Source{Kind: inbox.SourceApp, ID: app.ID, Name: "Your-App"}) ||
			msg.Message != "Use this OTP code to login to Your-App" || msg.Reference != "login" ||
			len(msg.Code) != 6 || !msg.ExpiresAt.Equal(e.clock.Now().Add(5*time.Minute)) {
			t.Fatalf("inbox message = %+v, want the OTP of Your-App, reference login, 6 digits, expiring in 5 min", msg)
		}

		// 4. Verify OTP: success, and the code leaves the inbox.
		r = e.post(key, "/api/otp/verify", `{
"user_id": "100",
"reference": "login",
"code": "`+msg.Code+`"
}`)
		wantBody(t, "otp/verify", r, http.StatusOK, success)
		if got := e.newest(john); got.ID != msg.ID || got.Code != "" {
			t.Fatalf("after verify, inbox shows %+v; want message %s without its code", got, msg.ID)
		}

		// 5. Send Notification.
		r = e.post(key, "/api/notification", `{
"user_id": "100",
"message": "Deposit $1.0 received successfuly"
}`)
		wantBody(t, "notification", r, http.StatusOK, success)
		if got := e.newest(john); got.Type != inbox.TypeNotification || got.Message != "Deposit $1.0 received successfuly" ||
			got.Code != "" || got.Source != (inbox.Source{Kind: inbox.SourceApp, ID: app.ID, Name: "Your-App"}) || !got.ExpiresAt.IsZero() {
			t.Fatalf("inbox message = %+v, want the notification", got)
		}

		// 2. Unlink Account; afterwards the user is not linked.
		r = e.post(key, "/api/link-account/unlink", `{
"user_id": "100"
}`)
		wantBody(t, "unlink", r, http.StatusOK, success)
		r = e.post(key, "/api/notification", `{"user_id": "100", "message": "hi"}`)
		wantError(t, "notification after unlink", r, http.StatusNotFound, "User not linked")
		if url := e.linkURL(key, "100", want); tokenOf(t, url) == token {
			t.Fatalf("link-account after unlink returned the spent token")
		}
	})
}

// TestLinkedShape covers the masks of short and absent values.
func TestLinkedShape(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		tests := []struct {
			email, username, wantEmail string
		}{
			{"ab@example.org", "", md5Hex("ab@example.org") + "-a****@example.org"},
			{"x@example.org", "x_y", md5Hex("x@example.org") + "-x****@example.org"},
			{"ÉLodie@Example.org", "", md5Hex("élodie@example.org") + "-él****@example.org"},
			{"", "", ""},
		}
		for i, tt := range tests {
			a := e.createUser(tt.email, tt.username)
			userID := string(rune('a' + i))
			e.link(key, userID, a)
			r := e.postJSON(key, "/api/link-account", map[string]any{"user_id": userID, "return_url": "https://your-app.com/nofbox-return/"})
			wantBody(t, tt.email, r, http.StatusOK, map[string]any{
				"linked": true, "email": tt.wantEmail, "phone": md5Hex(a.phone) + "-" + a.phone[len(a.phone)-4:], "username": tt.username,
			})
		}
	})
}
