package sms

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ratelimit"
)

// BudgetConfig sets the SMS-pumping guard (LINKBOX_SMS_BUDGET,
// LINKBOX_SMS_COUNTRY_BUDGET, LINKBOX_SMS_COUNTRIES).
type BudgetConfig struct {
	PerHour           int      // SMS per hour for the whole deployment; 0: no budget
	PerCountryPerHour int      // SMS per hour to one destination country; 0: no budget
	Countries         []string // ISO 3166 alpha-2 codes SMS may go to; empty: every country
}

// Budget is the guard against SMS pumping, where an attacker has codes sent
// to numbers whose operator pays them per message received: an hourly
// budget for the whole deployment, one per destination country (the
// number's region by its numbering plan), and an allow-list of countries.
// The budgets are buckets of the limiter, so they are shared by every
// instance when the limiter is Redis's, and they allow everything when it
// is ratelimit.Unlimited (LINKBOX_RATE_LIMITS=off); the allow-list holds
// either way.
type Budget struct {
	limiter    ratelimit.Limiter
	total      ratelimit.Limit
	perCountry ratelimit.Limit
	countries  map[string]bool // nil: every country
}

// errCountryNotAllowed refuses an SMS to a country off the allow-list.
var errCountryNotAllowed = errs.E(errs.Invalid, "sms_country_not_allowed", "SMS cannot be sent to this country")

// NewBudget returns the Budget cfg describes, counted in l. It refuses a
// country code that no numbering plan has (such as "UK", which is "GB").
func NewBudget(l ratelimit.Limiter, cfg BudgetConfig) (*Budget, error) {
	if cfg.PerHour < 0 || cfg.PerCountryPerHour < 0 {
		return nil, fmt.Errorf("sms: budgets must not be negative: %d per hour, %d per country", cfg.PerHour, cfg.PerCountryPerHour)
	}
	b := &Budget{
		limiter:    l,
		total:      ratelimit.Limit{Events: cfg.PerHour, Per: time.Hour},
		perCountry: ratelimit.Limit{Events: cfg.PerCountryPerHour, Per: time.Hour},
	}
	if len(cfg.Countries) > 0 {
		b.countries = make(map[string]bool, len(cfg.Countries))
	}
	known := phonenumbers.GetSupportedRegions()
	for _, c := range cfg.Countries {
		c = strings.ToUpper(c)
		if !known[c] {
			return nil, fmt.Errorf("sms: %q is not a country code of any numbering plan (ISO 3166 alpha-2, such as GB or BI)", c)
		}
		b.countries[c] = true
	}
	return b, nil
}

// Take counts one SMS to phone (E.164), or refuses it: sms_country_not_allowed
// (400) for a country off the allow-list, sms_budget_exhausted (429, with
// RetryAfter) when the country's or the deployment's budget for the hour is
// spent. The country is counted first, so that a pumped country, once
// refused, no longer eats the budget every other country shares.
func (b *Budget) Take(ctx context.Context, phone string) error {
	country := region(phone)
	if b.countries != nil && !b.countries[country] {
		return errCountryNotAllowed
	}
	if err := b.take(ctx, "sms:country:"+country, b.perCountry, "The hourly SMS budget for this country is spent; try again later"); err != nil {
		return err
	}
	return b.take(ctx, "sms:all", b.total, "The hourly SMS budget is spent; try again later")
}

// take takes one event of key under l (none when l has no events), or
// refuses with message.
func (b *Budget) take(ctx context.Context, key string, l ratelimit.Limit, message string) error {
	if l.Events == 0 {
		return nil
	}
	res, err := b.limiter.Take(ctx, key, l, 1)
	if err != nil {
		return fmt.Errorf("sms: budget: %w", err)
	}
	if !res.Allowed {
		e := errs.E(errs.TooMany, "sms_budget_exhausted", message)
		e.RetryAfter = max(res.RetryAfter, time.Second)
		return e
	}
	return nil
}

// region is phone's country by its numbering plan: an ISO 3166 alpha-2
// code, "001" for the non-geographic plans (satellite, international
// freephone), "ZZ" when unknown. Neither of the last two is ever on an
// allow-list.
func region(phone string) string {
	num, err := phonenumbers.Parse(phone, "")
	if err != nil {
		return phonenumbers.UNKNOWN_REGION
	}
	if r := phonenumbers.GetRegionCodeForNumber(num); r != "" {
		return r
	}
	return phonenumbers.UNKNOWN_REGION
}
