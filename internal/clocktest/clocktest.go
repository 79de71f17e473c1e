// Package clocktest is a settable clock for tests of code that takes a
// now func() time.Time.
package clocktest

import (
	"sync/atomic"
	"time"
)

// Clock reads a time that only moves when told to; safe for concurrent use.
type Clock struct{ ns atomic.Int64 }

// New returns a Clock reading start.
func New(start time.Time) *Clock {
	c := &Clock{}
	c.ns.Store(start.UnixNano())
	return c
}

// Now returns the clock's time, in UTC.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
