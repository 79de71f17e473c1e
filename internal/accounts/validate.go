package accounts

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Field limits.
const (
	minPassword = 8
	maxPassword = 128
	maxName     = 100
	maxEmail    = 254 // RFC 5321's limit on a forward path
	// maxPhoneInput bounds what reaches the phone parser; the longest E.164
	// number has 15 digits, and some spacing is tolerated.
	maxPhoneInput = 32
)

// NewUser is what a sign-up or the admin command provides.
type NewUser struct {
	Phone     string
	Password  string
	FirstName string
	LastName  string
	Email     string
	Username  string // optional
	Role      string // empty means RoleUser
}

// normalize validates every field, in the order of the seed's parameters,
// and returns them normalized: phone in E.164, names trimmed, username lower
// case, role defaulted. It leaves the role's policy to the caller.
func (n NewUser) normalize() (NewUser, error) {
	var err error
	if n.Phone, err = normalizePhone("phone", n.Phone); err != nil {
		return n, err
	}
	if err = checkPassword("password", n.Password); err != nil {
		return n, err
	}
	if n.FirstName, err = checkName("first_name", n.FirstName); err != nil {
		return n, err
	}
	if n.LastName, err = checkName("last_name", n.LastName); err != nil {
		return n, err
	}
	if err = checkEmail(n.Email); err != nil {
		return n, err
	}
	if n.Username, err = checkUsername(n.Username); err != nil {
		return n, err
	}
	n.Role, err = checkRole(n.Role)
	return n, err
}

// normalizePhone parses an E.164 number ("+" and country code; spaces
// tolerated) and returns it in canonical E.164.
func normalizePhone(field, s string) (string, error) {
	if s == "" {
		return "", missingField(field)
	}
	bad := invalid("invalid_phone", "Field \""+field+"\" must be a valid phone number in E.164 format, such as +25761234567")
	if len(s) > maxPhoneInput || !phoneShaped(s) {
		return "", bad
	}
	num, err := phonenumbers.Parse(s, "")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", bad
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// phoneShaped accepts "+", a digit, then digits and the separators people
// write numbers with; the phone library would also take letters ("1-800-
// FLOWERS"), a national number or a doubled "+".
func phoneShaped(s string) bool {
	if len(s) < 2 || s[0] != '+' || s[1] < '0' || s[1] > '9' {
		return false
	}
	return strings.Trim(s[1:], "0123456789 -.()") == ""
}

func checkPassword(field, s string) error {
	if s == "" {
		return missingField(field)
	}
	if n := utf8.RuneCountInString(s); n < minPassword || n > maxPassword {
		return invalid("invalid_password", "Field \""+field+"\" must be 8 to 128 characters long")
	}
	return nil
}

// checkName returns s trimmed.
func checkName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", missingField(field)
	}
	if utf8.RuneCountInString(s) > maxName || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", invalid("invalid_name", "Field \""+field+"\" must be 1 to 100 characters long, without control characters")
	}
	return s, nil
}

// checkEmail accepts a bare address only: mail.ParseAddress also takes
// "Name <addr>" and comments, which are no email field's business.
func checkEmail(s string) error {
	if s == "" {
		return missingField("email")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > maxEmail {
		return invalid("invalid_email", "Field \"email\" must be a valid email address, such as john.doe@example.com")
	}
	return nil
}

// checkUsername returns the optional username in lower case, so that "Ann"
// and "ann" cannot both exist.
func checkUsername(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	s = strings.ToLower(s)
	ok := len(s) >= 3 && len(s) <= 32
	for _, c := range s {
		ok = ok && (c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-')
	}
	if !ok {
		return "", invalid("invalid_username", "Field \"username\" must be 3 to 32 characters: letters, digits, \"_\", \".\" or \"-\"")
	}
	return s, nil
}

func checkRole(s string) (string, error) {
	switch s {
	case "":
		return RoleUser, nil
	case RoleUser, RoleAgent, RoleAdmin:
		return s, nil
	}
	return "", invalid("invalid_role", "Field \"role\" must be \"user\", \"agent\" or \"admin\"")
}

// checkCode accepts exactly six ASCII digits.
func checkCode(field, s string) error {
	if s == "" {
		return missingField(field)
	}
	ok := len(s) == 6
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] >= '0' && s[i] <= '9'
	}
	if !ok {
		return invalid("invalid_code", "Field \""+field+"\" must be the 6-digit code sent by SMS")
	}
	return nil
}
