package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// maxInboxPage is the inbox API's largest page: the most codes one read
// fetches for a user.
const maxInboxPage = 100

// poolSize guesses how many OTPs a verify turn of d consumes: verifying
// costs about what sending does, plus a margin. A turn that runs out ends
// early and is measured over the time it ran.
func (e *env) poolSize(d time.Duration) int {
	rate := e.sendRate
	if rate == 0 {
		rate = 5000
	}
	n := int(rate*d.Seconds()*1.5) + 1000
	return min(n, maxInboxPage*len(e.fx.users))
}

// makePool sends about size OTPs, spread over the users, reads their codes
// from each user's inbox, and returns the verify bodies in random order.
func makePool(ctx context.Context, e *env, round, size int) ([][]byte, error) {
	perUser := min((size+len(e.fx.users)-1)/len(e.fx.users), maxInboxPage)
	var mu sync.Mutex
	var pool [][]byte
	err := parallel(ctx, len(e.fx.users), e.opt.concurrency, func(ctx context.Context, i int) error {
		bodies, err := userCodes(ctx, e, e.fx.users[i], round, perUser)
		mu.Lock()
		pool = append(pool, bodies...)
		mu.Unlock()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("prepare OTPs: %w", err)
	}
	rand.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	return pool, nil
}

// userCodes sends n OTPs to u and returns a verify body for each, with the
// code read from u's inbox.
func userCodes(ctx context.Context, e *env, u benchUser, round, n int) ([][]byte, error) {
	refs := map[string]bool{}
	for j := range n {
		ref := fmt.Sprintf("verify-%d-%d", round, j)
		body := mustJSON(bareBody{UserID: u.ext, Reference: ref, Message: "Your bench code"})
		b, err := e.lb.do(ctx, http.MethodPost, "/api/otp", body, e.fx.apiHeader())
		if err := expect(b, err, `"success":true`); err != nil {
			return nil, err
		}
		refs[ref] = true
	}
	page, err := e.lb.do(ctx, http.MethodGet, fmt.Sprintf("/v1/inbox/messages?limit=%d", n), nil,
		http.Header{"Authorization": {"Bearer " + u.token}})
	if err != nil {
		return nil, err
	}
	var list struct {
		Data []struct {
			Reference string `json:"reference"`
			Code      string `json:"code"`
		} `json:"data"`
	}
	if err := json.Unmarshal(page, &list); err != nil {
		return nil, fmt.Errorf("inbox page: %w", err)
	}
	var bodies [][]byte
	for _, m := range list.Data {
		if refs[m.Reference] && m.Code != "" {
			bodies = append(bodies, mustJSON(bareBody{UserID: u.ext, Reference: m.Reference, Code: m.Code}))
		}
	}
	if len(bodies) != n {
		return nil, fmt.Errorf("inbox of %s shows %d of the %d codes sent", u.ext, len(bodies), n)
	}
	return bodies, nil
}
