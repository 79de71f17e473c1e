package numbers

import (
	"regexp"
	"strings"
)

// Code extraction from an SMS, in order: the origin-bound one-time-code
// format ("@example.com #123456" on the last line), a code after a keyword
// in one of several languages, then the first lone group of 4 to 8 digits
// (also written 123-456 or 123 456). Years and amounts are not special-cased
// beyond the keyword rule.
var (
	originBound = regexp.MustCompile(`(?m)^@[A-Za-z0-9.-]+\s+#([A-Za-z0-9]{4,10})(?:\s|$)`)
	keyworded   = regexp.MustCompile(`(?i)(?:code|kod|код|código|codigo|código de verificación|pin|otp|passcode|password|parol|пароль|verification|bestätigungscode|sicherheitscode|mot de passe|验证码|認証コード|رمز)[^0-9]{0,30}?(\d{3}[- ]\d{3}|\d{4,8})(?:\D|$)`)
	loneDigits  = regexp.MustCompile(`(?:^|\D)(\d{3}[- ]\d{3}|\d{4,8})(?:\D|$)`)
)

// ExtractCode returns the one-time code of an SMS text, "" when none.
func ExtractCode(text string) string {
	for _, re := range []*regexp.Regexp{originBound, keyworded, loneDigits} {
		if m := re.FindStringSubmatch(text); m != nil {
			return strings.NewReplacer("-", "", " ", "").Replace(m[1])
		}
	}
	return ""
}
