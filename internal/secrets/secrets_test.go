package secrets

import (
	"bytes"
	"testing"
)

func ring(t *testing.T, master string) *Keyring {
	t.Helper()
	k, err := New([]byte(master))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestHashIsKeyedAndPurposeBound(t *testing.T) {
	a := ring(t, "0123456789abcdef0123456789abcdef")
	b := ring(t, "0123456789abcdef0123456789abcdeX")
	if a.Hash("p", "v") != a.Hash("p", "v") {
		t.Error("Hash is not deterministic")
	}
	if a.Hash("p", "v") == b.Hash("p", "v") {
		t.Error("different masters gave the same hash")
	}
	if a.Hash("p", "v") == a.Hash("q", "v") {
		t.Error("different purposes gave the same hash")
	}
	if !Equal(a.Hash("p", "v"), a.Hash("p", "v")) || Equal(a.Hash("p", "v"), a.Hash("p", "w")) {
		t.Error("Equal is wrong")
	}
}

func TestSealOpen(t *testing.T) {
	k := ring(t, "0123456789abcdef0123456789abcdef")
	s := k.Seal("jwt", []byte("private"))
	got, err := k.Open("jwt", s)
	if err != nil || !bytes.Equal(got, []byte("private")) {
		t.Fatalf("Open = %q, %v; want private", got, err)
	}
	if _, err := k.Open("other", s); err == nil {
		t.Error("Open with another purpose succeeded")
	}
	if _, err := ring(t, "0123456789abcdef0123456789abcdeX").Open("jwt", s); err == nil {
		t.Error("Open with another master succeeded")
	}
	for _, bad := range []string{"", "!!", "AAAA"} {
		if _, err := k.Open("jwt", bad); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}

func TestShortMaster(t *testing.T) {
	if _, err := New([]byte("short")); err == nil {
		t.Error("New accepted a short master")
	}
}
