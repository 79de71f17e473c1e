package smstest_test

import (
	"testing"

	"github.com/linkbox/linkbox/internal/sms/smstest"
)

func TestCode(t *testing.T) {
	tests := []struct{ body, want string }{
		{"Your code is 123456", "123456"},
		{"123456 is your code", "123456"},
		{"code:654321.", "654321"},
		{"abc987654def", "987654"},
		{"Call +15550100 with code 000042", "000042"},
		{"12345 then 1234567 then 222333", "222333"},
		{"first 111111 second 222222", "111111"},
		{"no digits", ""},
		{"12345", ""},
		{"1234567", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := smstest.Code(tt.body); got != tt.want {
			t.Errorf("Code(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}
