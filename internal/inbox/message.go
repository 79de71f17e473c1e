package inbox

import (
	"errors"
	"fmt"
	"time"
)

// Message types and source kinds are open sets: a surface that delivers to
// the inbox names its own (a rental's SMS will be "sms" from a "rental").
// Either is a lower-case word; only an OTP has rules of its own.
const (
	// TypeOTP is a one-time code an app sent; it has a code and a
	// reference.
	TypeOTP = "otp"
	// TypeNotification is a text an app sent.
	TypeNotification = "notification"

	// SourceApp is the kind of the apps of the Connect API.
	SourceApp = "app"
)

// maxWord is the longest type or source kind.
const maxWord = 32

// Source is who sent a message: its kind, its id and the name the user
// knows it by, copied into the message so that the inbox needs no other
// table.
type Source struct {
	Kind string // SourceApp, or a kind of the sending surface
	ID   string
	Name string
}

// NewMessage is a message to deliver to a user's inbox.
type NewMessage struct {
	UserID  string
	Source  Source
	Type    string // TypeOTP, TypeNotification or a type of the sending surface
	Message string
	// Code is shown with the message until ExpiresAt or EraseCode, sealed at
	// rest meanwhile; required for TypeOTP, optional for other types.
	Code      string
	Reference string    // the app's reference of an OTP; TypeOTP only
	ExpiresAt time.Time // zero = never
}

func (m NewMessage) validate() error {
	switch {
	case m.UserID == "" || m.Source.ID == "" || m.Source.Name == "":
		return errors.New("inbox: message needs a user id, and a source id and name")
	case !isWord(m.Source.Kind):
		return fmt.Errorf("inbox: source kind %q is not a lower-case word", m.Source.Kind)
	case !isWord(m.Type):
		return fmt.Errorf("inbox: message type %q is not a lower-case word", m.Type)
	case m.Type == TypeOTP && m.Code == "":
		return errors.New("inbox: an OTP message needs its code")
	case m.Type != TypeOTP && m.Reference != "":
		return fmt.Errorf("inbox: a message of type %q has no reference: OTPs only", m.Type)
	}
	return nil
}

// isWord reports whether s is 1 to maxWord lower-case ASCII letters,
// digits and underscores, starting with a letter: a name clients can
// switch on.
func isWord(s string) bool {
	if s == "" || len(s) > maxWord || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// Message is a message as its owner sees it.
type Message struct {
	ID        string // public: the message's number, enciphered
	Type      string
	Source    Source
	Message   string
	Code      string // "" when it has none, or none any more: dead or expired
	Reference string
	CreatedAt time.Time
	ExpiresAt time.Time // zero = never
	ReadAt    time.Time // zero = unread

	// num is the message's number in the store: one user's messages are
	// numbered in commit order.
	num int64
}
