package numbers

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ids"
)

// Price is one catalog entry, with Count the free numbers that can take
// the service now. An entry of the upstream provider (Upstream) has the
// operator "any", the upstream's count, and no rent per hour.
type Price struct {
	Service, Country, Operator string
	Cost, RentPerHour          int64 // micro-units
	Count                      int64
	Upstream                   bool
}

// Number is one number of the pool.
type Number struct {
	ID, Number, Country, Operator string
	Services                      []string
	GatewayID                     string
	SIM                           int
	RentalID                      string
}

// SetPrice adds or replaces a price.
func (s *Service) SetPrice(ctx context.Context, p Price) error {
	if !isWord(p.Service) || !isCountry(p.Country) || p.Operator == "" || p.Cost < 0 || p.RentPerHour < 0 {
		return errBadInput
	}
	return s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		s.changed(tx)
		_, err := tx.Exec(ctx, `INSERT INTO numbers_prices (service, country, operator, cost_micros, rent_hour_micros, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (service, country, operator)
			DO UPDATE SET cost_micros = excluded.cost_micros, rent_hour_micros = excluded.rent_hour_micros, updated_at = excluded.updated_at`,
			p.Service, p.Country, p.Operator, p.Cost, p.RentPerHour, s.now().UnixMilli())
		return err
	})
}

// Prices lists the catalog, filtered by service, country and operator where
// given, with the count of free numbers of each entry; the upstream's
// prices, when one is configured, join it.
func (s *Service) Prices(ctx context.Context, service, country, operator string) ([]Price, error) {
	query := `SELECT p.service, p.country, p.operator, p.cost_micros, p.rent_hour_micros,
			(SELECT COUNT(*) FROM numbers_pool n WHERE n.country = p.country AND n.operator = p.operator
				AND n.rental_id IS NULL AND n.source = 'pool' AND n.services LIKE '%,' || p.service || ',%'
				AND NOT EXISTS (SELECT 1 FROM numbers_blocked b WHERE b.number_id = n.id AND b.service = p.service)), 0
		FROM numbers_prices p
		WHERE (? = '' OR p.service = ?) AND (? = '' OR p.country = ?) AND (? = '' OR p.operator = ?)`
	args := []any{service, service, country, country, operator, operator}
	if s.up != nil {
		query += " UNION ALL " + upstreamPricesSQL
		args = append(args, args...)
	}
	return db.QueryAll(ctx, s.db, func(rows *sql.Rows) (p Price, err error) {
		var up int
		err = rows.Scan(&p.Service, &p.Country, &p.Operator, &p.Cost, &p.RentPerHour, &p.Count, &up)
		p.Upstream = up == 1
		return p, err
	}, query+" ORDER BY 2, 1, 3", args...)
}

// AddNumber adds a number to the pool.
func (s *Service) AddNumber(ctx context.Context, n Number) (Number, error) {
	ns, err := s.AddNumbers(ctx, []Number{n})
	if err != nil {
		return Number{}, err
	}
	return ns[0], nil
}

// AddNumbers adds numbers to the pool in one transaction: all of them, or,
// when one is malformed or already there, none.
func (s *Service) AddNumbers(ctx context.Context, ns []Number) ([]Number, error) {
	out := make([]Number, len(ns))
	for i, n := range ns {
		if !isE164(n.Number) || !isCountry(n.Country) || n.Operator == "" || (n.GatewayID == "") != (n.SIM == 0) {
			return nil, errBadInput
		}
		for _, sv := range n.Services {
			if !isWord(sv) {
				return nil, errBadInput
			}
		}
		n.ID = ids.New("num_")
		out[i] = n
	}
	now := s.now().UnixMilli()
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		s.changed(tx)
		for _, n := range out {
			var gw, sim any
			if n.GatewayID != "" {
				gw, sim = n.GatewayID, n.SIM
			}
			if _, err := tx.Exec(ctx, `INSERT INTO numbers_pool (id, number, country, operator, services, gateway_id, sim, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, n.ID, n.Number, n.Country, n.Operator, ","+strings.Join(n.Services, ",")+",", gw, sim, now); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, db.ErrConflict) {
		return nil, errNumberExists
	}
	return out, err
}

// ListNumbers lists the pool.
func (s *Service) ListNumbers(ctx context.Context) ([]Number, error) {
	return db.QueryAll(ctx, s.db, func(rows *sql.Rows) (n Number, err error) {
		var services string
		var gw, rental sql.NullString
		var sim sql.NullInt64
		err = rows.Scan(&n.ID, &n.Number, &n.Country, &n.Operator, &services, &gw, &sim, &rental)
		n.Services = strings.FieldsFunc(services, func(r rune) bool { return r == ',' })
		n.GatewayID, n.SIM, n.RentalID = gw.String, int(sim.Int64), rental.String
		return n, err
	}, `SELECT id, number, country, operator, services, gateway_id, sim, rental_id FROM numbers_pool WHERE source = 'pool' ORDER BY number`)
}

// RemoveNumber removes a free number (by id or E.164) from the pool.
func (s *Service) RemoveNumber(ctx context.Context, idOrNumber string) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		var rental sql.NullString
		var id string
		err := tx.QueryRow(ctx, `SELECT id, rental_id FROM numbers_pool WHERE (id = ? OR number = ?) AND source = 'pool'`, idOrNumber, idOrNumber).Scan(&id, &rental)
		switch {
		case err == db.ErrNotFound:
			return errNumberUnknown
		case err != nil:
			return err
		case rental.Valid:
			return errNumberBusy
		}
		s.changed(tx)
		_, err = tx.Exec(ctx, `DELETE FROM numbers_rentals WHERE number_id = ?`, id)
		if err == nil {
			_, err = tx.Exec(ctx, `DELETE FROM numbers_pool WHERE id = ?`, id)
		}
		return err
	})
}

func isWord(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func isCountry(v string) bool {
	return len(v) == 2 && v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z'
}

func isE164(v string) bool {
	if len(v) < 8 || len(v) > 16 || v[0] != '+' || v[1] == '0' {
		return false
	}
	_, err := strconv.ParseUint(v[1:], 10, 64)
	return err == nil
}
