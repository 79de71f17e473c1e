package inbox

import (
	"encoding/json"
	"time"
)

// messageJSON is a message on the wire, in lists and in stream events alike.
// It has an app or, from a source of another kind, a source.
type messageJSON struct {
	ID        string      `json:"id"`
	Type      string      `json:"type"`
	App       *appJSON    `json:"app,omitempty"`
	Source    *sourceJSON `json:"source,omitempty"`
	Message   string      `json:"message"`
	Code      string      `json:"code,omitempty"`
	Reference *string     `json:"reference,omitempty"`
	CreatedAt string      `json:"created_at"`
	ExpiresAt string      `json:"expires_at,omitempty"`
	ReadAt    *string     `json:"read_at"`
}

type appJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type sourceJSON struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// MarshalJSON writes m as the inbox API shows it: an app's message with its
// "app", as clients of the first inbox read it, a message from a source of
// another kind with its "source" instead; times in RFC 3339 UTC, read_at
// null while unread, code only while it lives, reference for OTPs only.
func (m Message) MarshalJSON() ([]byte, error) {
	v := messageJSON{
		ID:        m.ID,
		Type:      m.Type,
		Message:   m.Message,
		Code:      m.Code,
		CreatedAt: formatTime(m.CreatedAt),
		ExpiresAt: formatTime(m.ExpiresAt),
	}
	if m.Source.Kind == SourceApp {
		v.App = &appJSON{ID: m.Source.ID, Name: m.Source.Name}
	} else {
		v.Source = &sourceJSON{Kind: m.Source.Kind, ID: m.Source.ID, Name: m.Source.Name}
	}
	if m.Type == TypeOTP {
		v.Reference = &m.Reference
	}
	if !m.ReadAt.IsZero() {
		readAt := formatTime(m.ReadAt)
		v.ReadAt = &readAt
	}
	return json.Marshal(v)
}

// formatTime is RFC 3339 in UTC, as the Accounts API writes times; "" for
// the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// listJSON is a page of messages.
type listJSON struct {
	Object  string    `json:"object"`
	Data    []Message `json:"data"`
	HasMore bool      `json:"has_more"`
}
