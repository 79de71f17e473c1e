package accounts

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ratelimit"
)

// Caller is who asks the service for an action, through whichever door:
// the Accounts API, the hosted pages or a surface to come. Every action
// counts against the per-IP limit of actionLimits, so that all doors share
// one bucket per action and client.
type Caller struct {
	IP netip.Addr
	// Report, when set, receives the verdict of the action's limit: the API
	// reports it as X-RateLimit-* headers.
	Report func(ratelimit.Result)
}

// APICaller is the caller of an API request: its client IP, with the
// limit's verdict written to w's headers.
func APICaller(w http.ResponseWriter, r *http.Request) Caller {
	return Caller{IP: httpx.ClientIP(r), Report: func(res ratelimit.Result) { ratelimit.WriteHeaders(w, res) }}
}

// The actions limited per client IP.
const (
	actSignup  = "signup"
	actVerify  = "verify"
	actResend  = "resend"
	actLogin   = "login"
	actRefresh = "refresh"
	actLogout  = "logout"
	actMe      = "me"
	actForgot  = "forgot"
	actReset   = "reset"
)

// actionLimits are the requests one client IP (an IPv6 /64) may make of
// each action. Those that send an SMS are the tightest: they cost money.
var actionLimits = map[string]ratelimit.Limit{
	actSignup:  {Events: 20, Per: time.Hour},
	actVerify:  {Events: 30, Per: 15 * time.Minute},
	actResend:  {Events: 20, Per: time.Hour},
	actLogin:   {Events: 60, Per: time.Minute},
	actRefresh: {Events: 120, Per: time.Minute},
	actLogout:  {Events: 120, Per: time.Minute},
	actMe:      {Events: 600, Per: time.Minute},
	actForgot:  {Events: 10, Per: time.Hour},
	actReset:   {Events: 30, Per: 15 * time.Minute},
}

// admit counts one request of action from c, or refuses it with
// rate_limited. The key is the one the API's route limits used, so that a
// rolling upgrade keeps the buckets already filled in Redis.
func (s *Service) admit(ctx context.Context, action string, c Caller) error {
	res, err := s.cfg.Limiter.Take(ctx, "auth:"+action+":ip:"+httpx.IPKey(c.IP), actionLimits[action], 1)
	if err != nil {
		s.log.ErrorContext(ctx, "rate limiter failed; request allowed", "action", action, "err", err)
		return nil
	}
	if c.Report != nil {
		c.Report(res)
	}
	if !res.Allowed {
		return rateLimited(res.RetryAfter)
	}
	return nil
}
