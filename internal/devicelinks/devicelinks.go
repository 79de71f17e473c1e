// Package devicelinks is the Device links API: Linkbox as the hub between
// energy suppliers (API clients of kind "supplier", authenticated by
// x-api-key) and device manufacturers (OAuth2 providers, clients of kind
// "manufacturer"). A supplier starts a link session for one of its users
// (POST /users/{supplier_user_id}/link); the user picks a brand on the
// hosted /connect page and logs in at the manufacturer; Linkbox keeps the
// mapping of the supplier's user to a nox user and the devices. In section
// 2 of the seed a manufacturer starts instead (POST /device-sessions), the
// user picks a supplier (/suppliers/select) and logs in there, and the
// supplier names its user (POST /post-login-redirect). Every change is an
// event of the supplier, a signed webhook through the outbox and an item
// of GET /events; a user's settings are kept with an ETag and PUT to the
// manufacturer through the outbox.
//
// Suppliers and manufacturers are package clients' clients; this package
// keeps only what is their own (devicelinks_suppliers,
// devicelinks_manufacturers), with every secret sealed under the master
// secret.
package devicelinks

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/linkbox/linkbox/internal/clients"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/outbox"
	"github.com/linkbox/linkbox/internal/ratelimit"
	"github.com/linkbox/linkbox/internal/secrets"
	"github.com/linkbox/linkbox/internal/web"
	"github.com/linkbox/linkbox/internal/webhooks"
)

// Lifetimes and limits of the surface.
const (
	sessionTTL = 15 * time.Minute // the seed's: a link session lasts 15 minutes
	maxUserID  = 255
	maxURI     = 2048
)

// keyLimit is a supplier's request rate, shared by all its keys.
var keyLimit = ratelimit.Limit{Events: 200, Per: 2 * time.Second} // 100/s, burst 200

// Config tunes a Service.
type Config struct {
	PublicURL string           // LINKBOX_PUBLIC_URL: the base of link_url
	Now       func() time.Time // nil: time.Now
}

// Service is the Device links domain.
type Service struct {
	db            *db.DB
	keys          *secrets.Keyring
	limiter       ratelimit.Limiter
	cfg           Config
	log           *slog.Logger
	suppliers     *clients.Clients[Supplier]
	manufacturers *clients.Clients[Manufacturer]
	hooks         *webhooks.Queue
	outbox        *outbox.Outbox
	api           httpx.Adapter
	kit           *web.Kit // the hosted pages' kit, set by Pages

	refreshing [refreshStripes]sync.Mutex // one refresh of a mapping's token at a time (token)
}

// NewService returns a Service over d, queuing the suppliers' webhooks on
// hooks (whose deliverer asks the Service for their endpoints) and
// registering with ob the kind that PUTs settings to the manufacturers.
func NewService(d *db.DB, keys *secrets.Keyring, limiter ratelimit.Limiter, ob *outbox.Outbox, hooks *webhooks.Queue, cfg Config, log *slog.Logger) (*Service, error) {
	base, err := url.Parse(cfg.PublicURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("devicelinks: public URL %q: want http(s)://host[/path]", cfg.PublicURL)
	}
	if d == nil || keys == nil || limiter == nil || ob == nil || hooks == nil || log == nil {
		return nil, errors.New("devicelinks: store, keyring, limiter, outbox, webhook queue and logger are required")
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{db: d, keys: keys, limiter: limiter, outbox: ob, hooks: hooks, cfg: cfg, log: log,
		api: httpx.Adapter{Log: log, Render: RenderError}}
	s.suppliers = clients.New(d, keys, clients.Config[Supplier]{Kind: supplierKind, Table: s.supplierTable(), Limiter: limiter, Now: cfg.Now})
	s.manufacturers = clients.New(d, keys, clients.Config[Manufacturer]{Kind: manufacturerKind, Table: s.manufacturerTable(), Limiter: limiter, Now: cfg.Now})
	ob.Register(settingsKind, settingsDeliverer{s}, outbox.Policy{Retry: webhooks.Schedule()})
	return s, nil
}

// now is the service clock, in the millisecond precision of the store.
func (s *Service) now() time.Time {
	return s.cfg.Now().Truncate(time.Millisecond)
}
