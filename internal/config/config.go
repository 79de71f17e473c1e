// Package config reads Linkbox's configuration: environment variables, each
// of which is also a flag of "linkbox serve" (a flag wins over its variable).
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of one Linkbox process.
type Config struct {
	DatabaseURL      string
	Listen           string
	PublicURL        string
	Secret           string // LINKBOX_SECRET; empty: read from SecretFile
	SecretFile       string // LINKBOX_SECRET_FILE; empty: linkbox.secret, generated on first start
	SQLiteSync       string // LINKBOX_SQLITE_SYNC: "full" or "normal"
	SMSProvider      string
	SMSWebhookURL    string
	SMSWebhookSecret string
	TwilioBaseURL    string
	TwilioAccountSID string
	TwilioAuthToken  string
	TwilioFrom       string
	SMSBudget        int      // SMS per hour for the whole deployment; 0: no budget
	SMSCountryBudget int      // SMS per hour per destination country; 0: no budget
	SMSCountries     []string // ISO 3166 alpha-2 codes SMS may go to, upper case; empty: all
	RedisURL         string
	TrustedProxies   []netip.Prefix
	RateLimits       bool
	LogFormat        string // "text" or "json"
	LogLevel         slog.Level
	JWTAlgorithm     string        // "EdDSA" or "HS256"
	AccessTokenTTL   time.Duration // LINKBOX_ACCESS_TOKEN_TTL
	HashConcurrency  int           // password hashes computed at once
	StreamsPerUser   int           // open event streams per user on one instance; 0: no cap
	StreamsPerIP     int           // open event streams per client address on one instance; 0: no cap
	// The Numbers API's: money per credit (a decimal), credits granted on
	// approval, and how long a number is not rented for a service to
	// another account (0: off).
	NumbersCreditValue string
	NumbersFreeCredits int64
	NumbersCooldown    time.Duration
	// An upstream provider over the SMS-Activate protocol, used when the
	// local pool has no free number: its handler_api.php base URL, API key,
	// and the markup (a decimal factor) on its prices.
	SMSActivateURL    string
	SMSActivateKey    string
	SMSActivateMarkup string
	// CORSOrigins are the browser origins allowed to call the Accounts and
	// inbox APIs; empty: none (no CORS headers at all).
	CORSOrigins []string
	// MetricsListen is a separate listener for GET /metrics; MetricsToken a
	// bearer token that opens /metrics on the public listener. Neither: no
	// metrics served.
	MetricsListen string
	MetricsToken  string
}

// setting is one variable and its flag.
type setting struct {
	env, flag, def, usage string
}

var settings = []setting{
	{"LINKBOX_DATABASE_URL", "database-url", "sqlite:linkbox.db", "sqlite:PATH or postgres://…"},
	{"LINKBOX_LISTEN", "listen", ":8080", "listen address"},
	{"LINKBOX_PUBLIC_URL", "public-url", "http://localhost:8080", "base of every URL handed out"},
	{"LINKBOX_SECRET", "secret", "", "master secret, at least 32 characters (default: read from LINKBOX_SECRET_FILE)"},
	{"LINKBOX_SECRET_FILE", "secret-file", "", "file holding the master secret, mode 0600 (default: linkbox.secret beside the SQLite store, generated on first start)"},
	{"LINKBOX_SQLITE_SYNC", "sqlite-sync", "full", "full (an acknowledged write survives power loss) or normal (survives a crash of the process only)"},
	{"LINKBOX_SMS_PROVIDER", "sms-provider", "console", "console, webhook or twilio"},
	{"LINKBOX_SMS_WEBHOOK_URL", "sms-webhook-url", "", "webhook provider: where to POST messages"},
	{"LINKBOX_SMS_WEBHOOK_SECRET", "sms-webhook-secret", "", "webhook provider: whsec_… signing secret"},
	{"LINKBOX_TWILIO_BASE_URL", "twilio-base-url", "https://api.twilio.com", "twilio provider: API base URL"},
	{"LINKBOX_TWILIO_ACCOUNT_SID", "twilio-account-sid", "", "twilio provider: account SID"},
	{"LINKBOX_TWILIO_AUTH_TOKEN", "twilio-auth-token", "", "twilio provider: auth token"},
	{"LINKBOX_TWILIO_FROM", "twilio-from", "", "twilio provider: sender number or MG… messaging service SID"},
	{"LINKBOX_SMS_BUDGET", "sms-budget", "1000", "SMS per hour for the whole deployment (0: no budget)"},
	{"LINKBOX_SMS_COUNTRY_BUDGET", "sms-country-budget", "300", "SMS per hour per destination country (0: no budget)"},
	{"LINKBOX_SMS_COUNTRIES", "sms-countries", "", "comma-separated ISO 3166 alpha-2 codes SMS may go to (default: all)"},
	{"LINKBOX_REDIS_URL", "redis-url", "", "Redis for rate limits shared across instances"},
	{"LINKBOX_TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated CIDRs whose X-Forwarded-For is believed"},
	{"LINKBOX_RATE_LIMITS", "rate-limits", "on", "on, or off to disable request-rate limits (load tests only)"},
	{"LINKBOX_LOG_FORMAT", "log-format", "text", "text or json"},
	{"LINKBOX_LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
	{"LINKBOX_JWT_ALG", "jwt-alg", "EdDSA", "access token signature: EdDSA or HS256"},
	{"LINKBOX_ACCESS_TOKEN_TTL", "access-token-ttl", "1h", "access token lifetime (a duration, at least 1s)"},
	{"LINKBOX_HASH_CONCURRENCY", "hash-concurrency", "", "password hashes computed at once (default: number of CPUs)"},
	{"LINKBOX_STREAMS_PER_USER", "streams-per-user", "10", "open event streams per user on one instance; a new one beyond it closes the oldest (0: no cap)"},
	{"LINKBOX_STREAMS_PER_IP", "streams-per-ip", "100", "open event streams per client address (IPv6: per /64) on one instance; beyond it 429 (0: no cap)"},
	{"LINKBOX_NUMBERS_CREDIT_VALUE", "numbers-credit-value", "0.0005", "Numbers API: money value of one credit (a decimal)"},
	{"LINKBOX_NUMBERS_FREE_CREDITS", "numbers-free-credits", "0", "Numbers API: credits granted when an account is approved"},
	{"LINKBOX_NUMBERS_SERVICE_COOLDOWN", "numbers-service-cooldown", "720h", "Numbers API: a number is not rented for a service to another account within this (0: off)"},
	{"LINKBOX_SMSACTIVATE_URL", "smsactivate-url", "", "Numbers API: an upstream SMS-Activate provider's handler_api.php URL, used when the pool has no free number (default: none)"},
	{"LINKBOX_SMSACTIVATE_KEY", "smsactivate-key", "", "Numbers API: the upstream provider's API key"},
	{"LINKBOX_SMSACTIVATE_MARKUP", "smsactivate-markup", "1.0", "Numbers API: factor on the upstream provider's prices (a decimal, at least 1.0)"},
	{"LINKBOX_CORS_ORIGINS", "cors-origins", "", "comma-separated browser origins (https://app.example.com) allowed to call the Accounts and inbox APIs (default: none)"},
	{"LINKBOX_METRICS_LISTEN", "metrics-listen", "", "address of a separate listener serving GET /metrics, such as 127.0.0.1:9090 (default: none)"},
	{"LINKBOX_METRICS_TOKEN", "metrics-token", "", "bearer token that opens GET /metrics on the main listener (default: /metrics not served there)"},
}

// Raw holds the configuration as strings, keyed by variable name, before it
// is parsed.
type Raw map[string]string

// FromEnv reads every setting from getenv, with its default where unset.
func FromEnv(getenv func(string) string) Raw {
	raw := Raw{}
	for _, s := range settings {
		raw[s.env] = s.def
		if v := getenv(s.env); v != "" {
			raw[s.env] = v
		}
	}
	return raw
}

// BindFlags defines on fs a flag per setting, defaulting to raw's value, so
// that parsing fs overrides raw.
func (raw Raw) BindFlags(fs *flag.FlagSet) {
	for _, s := range settings {
		fs.Func(s.flag, s.usage+" ($"+s.env+")", func(v string) error {
			raw[s.env] = v
			return nil
		})
	}
}

// Parse checks and converts raw into a Config.
func (raw Raw) Parse() (Config, error) {
	c := Config{
		DatabaseURL:      raw["LINKBOX_DATABASE_URL"],
		Listen:           raw["LINKBOX_LISTEN"],
		PublicURL:        strings.TrimRight(raw["LINKBOX_PUBLIC_URL"], "/"),
		Secret:           raw["LINKBOX_SECRET"],
		SecretFile:       raw["LINKBOX_SECRET_FILE"],
		SQLiteSync:       raw["LINKBOX_SQLITE_SYNC"],
		SMSProvider:      raw["LINKBOX_SMS_PROVIDER"],
		SMSWebhookURL:    raw["LINKBOX_SMS_WEBHOOK_URL"],
		SMSWebhookSecret: raw["LINKBOX_SMS_WEBHOOK_SECRET"],
		TwilioBaseURL:    raw["LINKBOX_TWILIO_BASE_URL"],
		TwilioAccountSID: raw["LINKBOX_TWILIO_ACCOUNT_SID"],
		TwilioAuthToken:  raw["LINKBOX_TWILIO_AUTH_TOKEN"],
		TwilioFrom:       raw["LINKBOX_TWILIO_FROM"],
		RedisURL:         raw["LINKBOX_REDIS_URL"],
		LogFormat:        raw["LINKBOX_LOG_FORMAT"],
		JWTAlgorithm:     raw["LINKBOX_JWT_ALG"],
		HashConcurrency:  runtime.GOMAXPROCS(0),
	}
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add(fmt.Errorf("LINKBOX_PUBLIC_URL %q: want an absolute http(s) URL", c.PublicURL))
	}
	if c.Secret != "" && len(c.Secret) < 32 {
		add(errors.New("LINKBOX_SECRET: want at least 32 characters"))
	}
	if c.Secret != "" && c.SecretFile != "" {
		add(errors.New("LINKBOX_SECRET and LINKBOX_SECRET_FILE are both set: want one of them"))
	}
	if c.SQLiteSync != "full" && c.SQLiteSync != "normal" {
		add(fmt.Errorf("LINKBOX_SQLITE_SYNC %q: want full or normal", c.SQLiteSync))
	}
	switch raw["LINKBOX_RATE_LIMITS"] {
	case "on":
		c.RateLimits = true
	case "off":
	default:
		add(fmt.Errorf("LINKBOX_RATE_LIMITS %q: want on or off", raw["LINKBOX_RATE_LIMITS"]))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		add(fmt.Errorf("LINKBOX_LOG_FORMAT %q: want text or json", c.LogFormat))
	}
	if err := c.LogLevel.UnmarshalText([]byte(raw["LINKBOX_LOG_LEVEL"])); err != nil {
		add(fmt.Errorf("LINKBOX_LOG_LEVEL: %w", err))
	}
	if c.JWTAlgorithm != "EdDSA" && c.JWTAlgorithm != "HS256" {
		add(fmt.Errorf("LINKBOX_JWT_ALG %q: want EdDSA or HS256", c.JWTAlgorithm))
	}
	if d, err := time.ParseDuration(raw["LINKBOX_ACCESS_TOKEN_TTL"]); err != nil || d < time.Second {
		add(fmt.Errorf("LINKBOX_ACCESS_TOKEN_TTL %q: want a duration of at least 1s, such as 15m or 1h", raw["LINKBOX_ACCESS_TOKEN_TTL"]))
	} else {
		c.AccessTokenTTL = d
	}
	if v := raw["LINKBOX_HASH_CONCURRENCY"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			add(fmt.Errorf("LINKBOX_HASH_CONCURRENCY %q: want a positive integer", v))
		}
		c.HashConcurrency = n
	}
	c.SMSBudget = parseBudget(raw, "LINKBOX_SMS_BUDGET", add)
	c.SMSCountryBudget = parseBudget(raw, "LINKBOX_SMS_COUNTRY_BUDGET", add)
	c.StreamsPerUser = parseCap(raw, "LINKBOX_STREAMS_PER_USER", add)
	c.StreamsPerIP = parseCap(raw, "LINKBOX_STREAMS_PER_IP", add)
	c.NumbersCreditValue = raw["LINKBOX_NUMBERS_CREDIT_VALUE"]
	if n, err := strconv.ParseInt(raw["LINKBOX_NUMBERS_FREE_CREDITS"], 10, 64); err != nil || n < 0 {
		add(fmt.Errorf("LINKBOX_NUMBERS_FREE_CREDITS %q: want a non-negative integer", raw["LINKBOX_NUMBERS_FREE_CREDITS"]))
	} else {
		c.NumbersFreeCredits = n
	}
	if d, err := time.ParseDuration(raw["LINKBOX_NUMBERS_SERVICE_COOLDOWN"]); err != nil || d < 0 {
		add(fmt.Errorf("LINKBOX_NUMBERS_SERVICE_COOLDOWN %q: want a duration such as 720h, or 0 for none", raw["LINKBOX_NUMBERS_SERVICE_COOLDOWN"]))
	} else {
		c.NumbersCooldown = d
	}
	c.SMSActivateURL = raw["LINKBOX_SMSACTIVATE_URL"]
	c.SMSActivateKey = raw["LINKBOX_SMSACTIVATE_KEY"]
	c.SMSActivateMarkup = raw["LINKBOX_SMSACTIVATE_MARKUP"]
	if c.SMSActivateURL != "" {
		if u, err := url.Parse(c.SMSActivateURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(fmt.Errorf("LINKBOX_SMSACTIVATE_URL %q: want an absolute http(s) URL", c.SMSActivateURL))
		}
		if c.SMSActivateKey == "" {
			add(errors.New("LINKBOX_SMSACTIVATE_URL is set without LINKBOX_SMSACTIVATE_KEY"))
		}
	}
	if m, err := strconv.ParseFloat(c.SMSActivateMarkup, 64); err != nil || m < 1 {
		add(fmt.Errorf("LINKBOX_SMSACTIVATE_MARKUP %q: want a decimal of at least 1.0", c.SMSActivateMarkup))
	}
	origins, err := parseOrigins(raw["LINKBOX_CORS_ORIGINS"])
	if err != nil {
		add(err)
	}
	c.CORSOrigins = origins
	c.MetricsListen = raw["LINKBOX_METRICS_LISTEN"]
	c.MetricsToken = raw["LINKBOX_METRICS_TOKEN"]
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		add(errors.New("LINKBOX_METRICS_TOKEN: want at least 16 characters"))
	}
	countries, err := parseCountries(raw["LINKBOX_SMS_COUNTRIES"])
	if err != nil {
		add(err)
	}
	c.SMSCountries = countries
	proxies, err := parsePrefixes(raw["LINKBOX_TRUSTED_PROXIES"])
	if err != nil {
		add(err)
	}
	c.TrustedProxies = proxies
	return c, errors.Join(errs...)
}

// parseBudget reads the SMS budget of variable name: a count, 0 for none.
func parseBudget(raw Raw, name string, add func(error)) int {
	n, err := strconv.Atoi(raw[name])
	if err != nil || n < 0 {
		add(fmt.Errorf("%s %q: want a non-negative integer (0: no budget)", name, raw[name]))
		return 0
	}
	return n
}

// parseCap reads the stream cap of variable name: a count, 0 for none.
func parseCap(raw Raw, name string, add func(error)) int {
	n, err := strconv.Atoi(raw[name])
	if err != nil || n < 0 {
		add(fmt.Errorf("%s %q: want a non-negative integer (0: no cap)", name, raw[name]))
		return 0
	}
	return n
}

// parseCountries reads LINKBOX_SMS_COUNTRIES: two-letter codes, comma
// separated, returned in upper case. Whether a code names a country is for
// sms.NewBudget, which knows the numbering plans.
func parseCountries(list string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.ToUpper(strings.TrimSpace(s)); s == "" {
			continue
		}
		if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
			return nil, fmt.Errorf("LINKBOX_SMS_COUNTRIES: %q is not an ISO 3166 alpha-2 code (two letters, such as GB)", s)
		}
		out = append(out, s)
	}
	return out, nil
}

// parseOrigins reads LINKBOX_CORS_ORIGINS: scheme://host[:port] each, no
// path, no wildcard (an allowed origin is named, never guessed).
func parseOrigins(list string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil || strings.Contains(s, "*") {
			return nil, fmt.Errorf("LINKBOX_CORS_ORIGINS: %q is not an origin (want scheme://host[:port], such as https://app.example.com)", s)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}

func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("LINKBOX_TRUSTED_PROXIES: %w", err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Usage writes the table of variables, their flags and defaults.
func Usage() string {
	var b strings.Builder
	for _, s := range settings {
		fmt.Fprintf(&b, "  %-28s --%-20s %s", s.env, s.flag, s.usage)
		if s.def != "" {
			fmt.Fprintf(&b, " (default %q)", s.def)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
