package smstest

// Code returns the first run of exactly six digits in body (a verification
// code), or "" if there is none. Longer runs, such as phone numbers, are
// skipped rather than cut.
func Code(body string) string {
	for i := 0; i < len(body); {
		if !isDigit(body[i]) {
			i++
			continue
		}
		j := i
		for j < len(body) && isDigit(body[j]) {
			j++
		}
		if j-i == 6 {
			return body[i:j]
		}
		i = j
	}
	return ""
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
