package sms_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/linkbox/linkbox/internal/sms"
)

func TestConsoleLogsOneLine(t *testing.T) {
	var buf bytes.Buffer
	c := &sms.Console{Log: slog.New(slog.NewJSONHandler(&buf, nil))}
	if err := c.Send(t.Context(), sms.Message{ID: "sms_1", To: "+15550100", Body: "Your code is 123456"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log output %q is not one JSON line: %v", buf.String(), err)
	}
	want := map[string]string{"level": "INFO", "msg": "sms", "id": "sms_1", "to": "+15550100", "body": "Your code is 123456"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log attribute %s = %v, want %q (line %s)", k, line[k], v, buf.String())
		}
	}
}
