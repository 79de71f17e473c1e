package numbers

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/idempotency"
)

// priceTree is the seed's price shape: country → service → operators.
type priceTree map[string]map[string]struct {
	Services map[string]priceEntry `json:"services"`
}

type priceEntry struct {
	Cost  string `json:"cost"`
	Count string `json:"count"`
}

func (s *Service) handlePrices(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	return s.writePrices(r.Context(), w, q.Get("service"), q.Get("country"), "", false)
}

func (s *Service) handleRentPrices(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Get("service") == "" {
		return errServiceMissing
	}
	return s.writePrices(r.Context(), w, q.Get("service"), q.Get("country"), q.Get("operator"), true)
}

// writePrices answers the prices of the catalog filtered by service,
// country and operator, activations' or (rent) hours', from the cache when
// it holds them (see priceCache).
func (s *Service) writePrices(ctx context.Context, w http.ResponseWriter, service, country, operator string, rent bool) error {
	key := priceKey{service, country, operator, rent}
	body, ok, gen := s.prices.get(key)
	if !ok {
		list, err := s.Prices(ctx, service, country, operator)
		if err != nil {
			return err
		}
		if body, err = json.Marshal(map[string]any{"success": true, "data": priceTreeOf(list, rent), "source": "api"}); err != nil {
			return err
		}
		s.prices.put(key, body, gen)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(body, '\n')) // the client may be gone; nothing to do then
	return nil
}

// priceTreeOf arranges list in the seed's shape.
func priceTreeOf(list []Price, rent bool) priceTree {
	tree := priceTree{}
	for _, p := range list {
		if tree[p.Country] == nil {
			tree[p.Country] = map[string]struct {
				Services map[string]priceEntry `json:"services"`
			}{}
		}
		e := tree[p.Country][p.Service]
		if e.Services == nil {
			e.Services = map[string]priceEntry{}
		}
		cost := p.Cost
		if rent {
			if p.Upstream {
				continue // the upstream sells activations, not hours
			}
			cost = p.RentPerHour
		}
		e.Services[p.Operator] = priceEntry{Cost: FormatMoney(cost), Count: strconv.FormatInt(p.Count, 10)}
		tree[p.Country][p.Service] = e
	}
	return tree
}

func (s *Service) handleBalance(w http.ResponseWriter, r *http.Request, userID string) error {
	a, err := s.Account(r.Context(), userID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"success": true, "balance": s.money(a.Credits), "credits": a.Credits,
		"freeCreditsUsed": a.FreeCreditsUsed, "isApproved": a.Approved, "source": "db",
	})
	return nil
}

// money is the money value of credits, as a JSON number.
func (s *Service) money(credits int64) any {
	f, _ := strconv.ParseFloat(FormatMoney(credits*s.creditValue), 64)
	return f
}

func (s *Service) handleProfile(w http.ResponseWriter, r *http.Request, userID string) error {
	u, err := s.acc.UserByID(r.Context(), userID)
	if err != nil {
		return err
	}
	a, err := s.Account(r.Context(), userID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "data": map[string]any{
		"id": u.ID, "phone": u.Phone, "first_name": u.FirstName, "last_name": u.LastName, "email": u.Email,
		"username": u.Username, "status": u.Status, "created_at": u.CreatedAt.UTC().Format(time.RFC3339),
		"isApproved": a.Approved, "credits": a.Credits, "balance": s.money(a.Credits),
	}})
	return nil
}

func (s *Service) handleTransactions(w http.ResponseWriter, r *http.Request, userID string) error {
	page, err := intParam(r, "page", 1, 1<<20)
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 20, 100)
	if err != nil {
		return err
	}
	list, total, err := s.Transactions(r.Context(), userID, page, limit)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		var rental any
		if e.RentalID != "" {
			rental = e.RentalID
		}
		out = append(out, map[string]any{"id": e.ID, "type": e.Type, "credits": e.Credits, "balanceAfter": e.BalanceAfter,
			"rentalId": rental, "reason": e.Reason, "createdAt": e.CreatedAt.Format(time.RFC3339Nano)})
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "data": out, "page": page, "limit": limit,
		"total": total, "totalPages": (total + int64(limit) - 1) / int64(limit)})
	return nil
}

// intParam reads a positive integer query parameter, def when absent,
// capped at most (a larger limit is clamped, as the seed's "max: 100").
func intParam(r *http.Request, name string, def, most int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, errBadPaging
	}
	return min(n, most), nil
}

func (s *Service) handleRent(w http.ResponseWriter, r *http.Request, userID string) error {
	var q RentRequest
	if err := httpx.Decode(w, r, &q); err != nil {
		return err
	}
	// The answer is made, and kept for a replayed Idempotency-Key, inside
	// the rent's transaction: a rent is never charged without it.
	var body []byte
	_, _, err := s.Rent(r.Context(), userID, q, func(ctx context.Context, tx *db.Tx, rt Rental, remaining int64) error {
		b, err := json.Marshal(map[string]any{"success": true, "data": rentalJSON(rt, false), "remainingCredits": remaining})
		if err != nil {
			return err
		}
		body = append(b, '\n')
		return idempotency.Save(ctx, tx, http.StatusOK, "application/json", body)
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(body) // the client may be gone; nothing to do then
	return nil
}

func rentalJSON(r Rental, withSMS bool) map[string]any {
	m := map[string]any{
		"id": r.ID, "number": r.Number, "service": r.Service, "country": r.Country, "operator": r.Operator,
		"cost": r.Cost, "status": r.Status, "createdAt": r.CreatedAt.Format(time.RFC3339),
		"expiresAt": r.ExpiresAt.Format(time.RFC3339), "cancelableAt": r.CancelableAt.Format(time.RFC3339),
		"refundable": r.Status == StatusWaiting, "refunded": r.Refunded,
	}
	if withSMS {
		sms := make([]map[string]any, 0, len(r.SMS))
		for _, x := range r.SMS {
			sms = append(sms, map[string]any{"id": x.ID, "sender": x.Sender, "text": x.Text, "code": x.Code,
				"receivedAt": x.ReceivedAt.Format(time.RFC3339)})
		}
		m["sms"] = sms
	}
	return m
}

func (s *Service) handleRentals(w http.ResponseWriter, r *http.Request, userID string) error {
	list, err := s.Rentals(r.Context(), userID, r.URL.Query().Get("status"))
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		out = append(out, rentalJSON(x, false))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "data": out})
	return nil
}

func (s *Service) handleRental(w http.ResponseWriter, r *http.Request, userID string) error {
	rt, err := s.Rental(r.Context(), userID, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "data": rentalJSON(rt, true)})
	return nil
}

func (s *Service) handleCancel(w http.ResponseWriter, r *http.Request, userID string) error {
	return s.writeEnded(w, r, userID, s.Cancel)
}

func (s *Service) handleFinish(w http.ResponseWriter, r *http.Request, userID string) error {
	return s.writeEnded(w, r, userID, s.Finish)
}

func (s *Service) handleReport(w http.ResponseWriter, r *http.Request, userID string) error {
	return s.writeEnded(w, r, userID, s.Report)
}

func (s *Service) writeEnded(w http.ResponseWriter, r *http.Request, userID string, end func(context.Context, string, string) (Rental, error)) error {
	rt, err := end(r.Context(), userID, r.PathValue("id"))
	if err != nil {
		return err
	}
	a, err := s.Account(r.Context(), userID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "data": rentalJSON(rt, false), "remainingCredits": a.Credits})
	return nil
}
