package numbers

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"slices"
	"time"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ratelimit"
	"github.com/linkbox/linkbox/internal/web"
)

//go:embed pages
var pageFiles embed.FS

// The page's script and style, served by the surface (the kit's assets
// are web's), named with a hash of their content.
var pageAssets = map[string]pageAsset{}

type pageAsset struct {
	body        []byte
	contentType string
}

func init() {
	for name, ct := range map[string]string{"numbers.js": "text/javascript; charset=utf-8", "numbers.css": "text/css; charset=utf-8"} {
		b, err := pageFiles.ReadFile("pages/" + name)
		if err != nil {
			panic(err)
		}
		pageAssets[name] = pageAsset{body: b, contentType: ct}
	}
}

// assetURL is the URL of a page asset, its query changing with its content.
func assetURL(name string) string {
	sum := sha256.Sum256(pageAssets[name].body)
	return "/numbers/assets/" + name + "?v=" + hex.EncodeToString(sum[:6])
}

var errNoAsset = errs.E(errs.NotFound, "not_found", "No such file")

func serveAsset(w http.ResponseWriter, r *http.Request) error {
	a, ok := pageAssets[r.PathValue("name")]
	if !ok {
		return errNoAsset
	}
	w.Header().Set("Content-Type", a.contentType)
	_, err := w.Write(a.body)
	return err
}

// Pages registers the hosted page /numbers on the kit: the balance, the
// prices, a rent form, the live rentals with their SMS, the transactions;
// its forms rent, cancel and finish through the same service and limits
// as the API. It works without JavaScript; numbers.js adds the SMS as they
// arrive, from the inbox stream.
func (s *Service) Pages(k *web.Kit) error {
	if err := k.AddDir(pageFiles, "pages"); err != nil {
		return err
	}
	s.kit = k
	k.HandlePage("GET /numbers", s.numbersPage)
	k.HandlePage("POST /numbers/rent", s.pageRent)
	k.HandlePage("POST /numbers/rentals/{id}/cancel", s.pageEnd(s.Cancel, "cancelled"))
	k.HandlePage("POST /numbers/rentals/{id}/finish", s.pageEnd(s.Finish, "finished"))
	k.HandlePage("GET /numbers/assets/{name}", serveAsset)
	return nil
}

// pageView is the /numbers page.
type pageView struct {
	web.Base
	Balance   string
	Credits   int64
	Approved  bool
	Prices    []pagePrice
	Services  []string
	Countries []string
	Operators []string
	Form      RentRequest
	Rentals   []Rental
	Entries   []Entry
	Error     *errs.Error
	Done      string // rented, cancelled or finished: what the last form did
	// LastEventID is the newest inbox message when the page was made: the
	// script follows the inbox stream from there.
	LastEventID   string
	Script, Style string
	Now           time.Time
}

// pagePrice is a price as the page shows it.
type pagePrice struct {
	Price
	Money   string
	Credits int64
}

func (s *Service) numbersPage(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.kit.RequireSession(w, r)
	if !ok {
		return err
	}
	v := &pageView{}
	if done := r.URL.Query().Get("done"); done == "rented" || done == "cancelled" || done == "finished" {
		v.Done = done
	}
	return s.showPage(w, r, se, v, http.StatusOK)
}

// showPage fills v for se and renders it with status.
func (s *Service) showPage(w http.ResponseWriter, r *http.Request, se web.Session, v *pageView, status int) error {
	ctx := r.Context()
	v.Base = web.Base{UserID: se.UserID, CSRF: s.kit.SessionCSRF(se), Here: "/numbers"}
	v.Script, v.Style, v.Now = assetURL("numbers.js"), assetURL("numbers.css"), s.now()
	last, err := s.inbox.List(ctx, se.UserID, 1, "")
	if err != nil {
		return err
	}
	v.LastEventID = "0"
	if len(last) > 0 {
		v.LastEventID = last[0].ID
	}
	a, err := s.Account(ctx, se.UserID)
	if err != nil {
		return err
	}
	v.Balance, v.Credits, v.Approved = FormatMoney(a.Credits*s.creditValue), a.Credits, a.Approved
	if err := s.pagePrices(ctx, v); err != nil {
		return err
	}
	if v.Rentals, err = s.liveRentals(ctx, se.UserID); err != nil {
		return err
	}
	if v.Entries, _, err = s.Transactions(ctx, se.UserID, 1, 20); err != nil {
		return err
	}
	return s.kit.Render(w, r, status, "numbers", v)
}

func (s *Service) pagePrices(ctx context.Context, v *pageView) error {
	list, err := s.Prices(ctx, "", "", "")
	if err != nil {
		return err
	}
	for _, p := range list {
		v.Prices = append(v.Prices, pagePrice{Price: p, Money: FormatMoney(p.Cost), Credits: s.credits(p.Cost)})
		v.Services, v.Countries, v.Operators = append(v.Services, p.Service), append(v.Countries, p.Country), append(v.Operators, p.Operator)
	}
	for _, l := range []*[]string{&v.Services, &v.Countries, &v.Operators} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	return nil
}

// liveRentals are the account's waiting and received rentals, with their SMS.
func (s *Service) liveRentals(ctx context.Context, userID string) ([]Rental, error) {
	list, err := s.Rentals(ctx, userID, "")
	if err != nil {
		return nil, err
	}
	var out []Rental
	for _, r := range list {
		if r.Status != StatusWaiting && r.Status != StatusReceived {
			continue
		}
		full, err := s.Rental(ctx, userID, r.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	return out, nil
}

// formFailed shows the page again, with the status of err and what it
// says, or returns err when it is a fault of ours.
func (s *Service) formFailed(w http.ResponseWriter, r *http.Request, se web.Session, v *pageView, err error) error {
	e, status, ok := web.FormError(w, err)
	if !ok {
		return err
	}
	if st, over := statusOf[e.Code]; over {
		status = st
	}
	v.Error = e
	return s.showPage(w, r, se, v, status)
}

// pageRent rents from the page's form: the rent limit of the API, then
// the same Rent.
func (s *Service) pageRent(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.kit.RequireSession(w, r)
	if !ok {
		return err
	}
	if err := s.kit.CheckSessionForm(w, r, se); err != nil {
		return err
	}
	v := &pageView{Form: RentRequest{Service: r.PostForm.Get("service"), Country: r.PostForm.Get("country"), Operator: r.PostForm.Get("operator")}}
	if err := ratelimit.Take(w, r, s.limiter, s.log, "numbers:"+rentLimit.name+":"+se.UserID, rentLimit.Limit); err != nil {
		return s.formFailed(w, r, se, v, err)
	}
	rt, _, err := s.Rent(r.Context(), se.UserID, v.Form, nil)
	if err != nil {
		return s.formFailed(w, r, se, v, err)
	}
	web.SeeOther(w, "/numbers?done=rented#rental-"+rt.ID)
	return nil
}

// pageEnd is a cancel or finish button: the rent limit of the API, then
// end.
func (s *Service) pageEnd(end func(context.Context, string, string) (Rental, error), done string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		se, ok, err := s.kit.RequireSession(w, r)
		if !ok {
			return err
		}
		if err := s.kit.CheckSessionForm(w, r, se); err != nil {
			return err
		}
		if err := ratelimit.Take(w, r, s.limiter, s.log, "numbers:"+rentLimit.name+":"+se.UserID, rentLimit.Limit); err != nil {
			return s.formFailed(w, r, se, &pageView{}, err)
		}
		if _, err := end(r.Context(), se.UserID, r.PathValue("id")); err != nil {
			return s.formFailed(w, r, se, &pageView{}, err)
		}
		web.SeeOther(w, "/numbers?done="+done)
		return nil
	}
}
