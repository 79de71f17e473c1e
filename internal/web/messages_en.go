package web

// messagesEN are the pages' texts in English, the default language and the
// one every other locale must match id for id. An id ending in "_html" is
// markup, into which t escapes its arguments. The status.* titles are
// http.StatusText's, for the statuses httpx gives the kinds of error.
var messagesEN = map[string]string{
	"language.name":    "English",
	"layout.languages": "Language",
	"nav.inbox":        "Inbox",
	"nav.account":      "Account",

	"form.phone":    "Phone number",
	"form.password": "Password",

	"login.title":       "Log in",
	"login.link_notice": "Log in to link your account to %s.",
	"login.enter_code":  "Enter your code",
	"login.submit":      "Log in",
	"login.no_account":  "No account yet?",
	"login.signup":      "Sign up",

	"signup.title":        "Sign up",
	"signup.first_name":   "First name",
	"signup.last_name":    "Last name",
	"signup.email":        "Email",
	"signup.username":     "Username",
	"signup.optional":     "(optional)",
	"signup.submit":       "Sign up",
	"signup.have_account": "Already have an account?",
	"signup.login":        "Log in",

	"verify.title":     "Verify your phone",
	"verify.sent_html": `We sent a code by SMS to <strong id="verify-phone">%s</strong>.`,
	"verify.resent":    "If this number is waiting for its code, a new one is on its way (at most one a minute).",
	"verify.code":      "Verification code",
	"verify.submit":    "Verify",
	"verify.resend":    "Resend code",

	"consent.title":            "Link %s",
	"consent.heading":          "%s wants to link to your Linkbox account",
	"consent.intro_html":       `If you approve, <strong class="app-name">%s</strong> will be able to:`,
	"consent.scope_messages":   "send you one-time codes and notifications, which appear in your Linkbox inbox;",
	"consent.scope_identity":   "see a hashed form of your email address and phone number, and your username.",
	"consent.approve":          "Approve",
	"consent.deny":             "Deny",
	"consent.unlink_hint_html": `You can unlink it at any time from <a href="/account">your account</a>.`,

	"account.title":        "Your account",
	"account.linked_apps":  "Linked apps",
	"account.linked_since": "linked since",
	"account.unlink":       "Unlink",
	"account.no_apps":      "No app is linked to your account.",
	"account.logout":       "Log out",

	"inbox.title":        "Inbox",
	"inbox.reference":    "Reference:",
	"inbox.empty":        "No messages yet. Codes and notifications from your linked apps appear here as they arrive.",
	"inbox.live":         "Live: new messages appear here as they arrive.",
	"inbox.reconnecting": "Reconnecting…",

	"error.home":       "Go to Linkbox",
	"error.gone_title": "Link no longer valid",
	"status.400":       "Bad Request",
	"status.401":       "Unauthorized",
	"status.403":       "Forbidden",
	"status.404":       "Not Found",
	"status.409":       "Conflict",
	"status.410":       "Gone",
	"status.413":       "Request Entity Too Large",
	"status.429":       "Too Many Requests",
	"status.500":       "Internal Server Error",
	"status.503":       "Service Unavailable",
}
