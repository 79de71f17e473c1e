package inbox

import (
	"encoding/json"
	"time"
)

// messageJSON is a message on the wire, in lists and in stream events alike.
type messageJSON struct {
	ID        string  `json:"id"`
	Type      string  `json:"type"`
	App       appJSON `json:"app"`
	Message   string  `json:"message"`
	Code      string  `json:"code,omitempty"`
	Reference *string `json:"reference,omitempty"`
	CreatedAt string  `json:"created_at"`
	ExpiresAt string  `json:"expires_at,omitempty"`
	ReadAt    *string `json:"read_at"`
}

type appJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// MarshalJSON writes m as the inbox API shows it: times in RFC 3339 UTC,
// read_at null while unread, code only while the OTP lives, reference for
// OTPs only.
func (m Message) MarshalJSON() ([]byte, error) {
	v := messageJSON{
		ID:        m.ID,
		Type:      m.Type,
		App:       appJSON{ID: m.AppID, Name: m.AppName},
		Message:   m.Message,
		Code:      m.Code,
		CreatedAt: formatTime(m.CreatedAt),
		ExpiresAt: formatTime(m.ExpiresAt),
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
