package inbox

import (
	"errors"
	"slices"
	"time"

	"github.com/linkbox/linkbox/internal/errs"
)

// errTooManyStreams refuses a stream beyond StreamsPerIP. An address's
// streams end as its clients leave; half a minute lets some go.
var errTooManyStreams = &errs.Error{Kind: errs.TooMany, Code: "too_many_streams",
	Message:    "Too many event streams are open from your network; close some, then try again",
	RetryAfter: 30 * time.Second}

// Why a stream was closed, for the debug log.
var (
	errEvicted = errors.New("inbox: stream closed: its user opened more than StreamsPerUser")
	errRevoked = errors.New("inbox: stream closed: its session was revoked")
	errExpired = errors.New("inbox: stream closed: its credential expired")
)

// admit registers st, whose credential was checked when the revocation
// numbered seen was the newest applied. The user's oldest stream is closed
// if st takes the user beyond StreamsPerUser; st itself is closed at once
// if a revocation applied since seen names it, one that came while st was
// not yet there to be closed.
func (s *Service) admit(st *stream, seen int64) error {
	evicted, revoked, err := s.register(st, seen)
	if err != nil {
		return err
	}
	if evicted != nil {
		evicted.end(errEvicted)
	}
	if revoked {
		st.end(errRevoked)
	}
	return nil
}

// register is admit's bookkeeping: it returns the stream to evict, if any,
// and whether st was revoked meanwhile. It refuses st while the service
// closes and beyond StreamsPerIP.
func (s *Service) register(st *stream, seen int64) (evicted *stream, revoked bool, err error) {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	switch {
	case s.byUser == nil:
		return nil, false, errClosing
	case s.StreamsPerIP > 0 && s.byAddr[st.addr] >= s.StreamsPerIP:
		return nil, false, errTooManyStreams
	}
	mine := append(s.byUser[st.userID], st)
	s.byUser[st.userID] = mine
	s.byAddr[st.addr]++
	s.open++
	if s.StreamsPerUser > 0 && len(mine) > s.StreamsPerUser {
		evicted = mine[0]
		s.forget(evicted)
	}
	return evicted, s.revokedSince(st, seen), nil
}

// revokedSince reports whether a revocation applied after the one numbered
// seen names st. Should some of them be forgotten already (st's credential
// took longer than revocationMemory to check), it assumes so: the client
// reconnects. s.streamsMu is held.
func (s *Service) revokedSince(st *stream, seen int64) bool {
	if seen < s.forgotten {
		return true
	}
	for _, rv := range slices.Backward(s.recent) {
		if rv.id <= seen {
			return false
		}
		if rv.names(st) {
			return true
		}
	}
	return false
}

// revocationsApplied returns the id of the newest revocation applied.
func (s *Service) revocationsApplied() int64 {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	return s.applied
}

// untrack unregisters an ending stream.
func (s *Service) untrack(st *stream) {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	s.forget(st)
}

// forget unregisters st, unless it is no longer registered (evicted, or
// the service closed); s.streamsMu is held.
func (s *Service) forget(st *stream) {
	mine := s.byUser[st.userID]
	i := slices.Index(mine, st)
	if i < 0 {
		return
	}
	if len(mine) == 1 {
		delete(s.byUser, st.userID)
	} else {
		s.byUser[st.userID] = slices.Delete(mine, i, i+1)
	}
	s.byAddr[st.addr]--
	if s.byAddr[st.addr] == 0 {
		delete(s.byAddr, st.addr)
	}
	s.open--
}

// OpenStreams returns how many streams this instance holds open.
func (s *Service) OpenStreams() int {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	return s.open
}

// Close ends every open stream and refuses new ones (503): their clients
// reconnect, with their Last-Event-ID, to an instance that is not stopping.
// Streams taken over from net/http are not waited for by
// http.Server.Shutdown, so the server calls Close as it shuts down.
func (s *Service) Close() {
	s.streamsMu.Lock()
	open := s.byUser
	s.byUser, s.byAddr, s.open = nil, nil, 0
	s.streamsMu.Unlock()
	for _, mine := range open {
		for _, st := range mine {
			st.end(nil)
		}
	}
	s.cancel()
}
