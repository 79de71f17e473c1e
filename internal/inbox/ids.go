package inbox

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"strings"
)

// idPurpose is the keyring purpose of the key enciphering message numbers.
const idPurpose = "inbox-message-id"

const (
	idPrefix = "msg_"
	// idLen is the length of a public id: the prefix and one AES block in
	// unpadded base64url.
	idLen = len(idPrefix) + 22
)

// idEncoding is strict so that each id has one spelling: the last
// character's unused bits must be zero.
var idEncoding = base64.RawURLEncoding.Strict()

// idCodec turns the store's message numbers into public ids and back.
//
// Numbers are handed out in one sequence for all users, so showing them
// would tell every user how many messages the whole instance sends. A public
// id is instead the number enciphered: one AES block holding the number and
// eight zero bytes. AES is a permutation, so ids are as unique as numbers;
// deciphering an id that was not made here gives nonzero padding but for a
// chance of 2⁻⁶⁴, so a forged or mistyped id is refused without a query.
type idCodec struct {
	block cipher.Block
}

func newIDCodec(key []byte) idCodec {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("inbox: message id key: " + err.Error()) // the keyring's keys are 32 bytes
	}
	return idCodec{block: block}
}

// format returns the public id of message number n.
func (c idCodec) format(n int64) string {
	var b [aes.BlockSize]byte
	binary.BigEndian.PutUint64(b[:8], uint64(n))
	c.block.Encrypt(b[:], b[:])
	out := make([]byte, idLen)
	copy(out, idPrefix)
	idEncoding.Encode(out[len(idPrefix):], b[:])
	return string(out)
}

// parse returns the number of public id s, or false when s is no id made
// by format.
func (c idCodec) parse(s string) (int64, bool) {
	rest, ok := strings.CutPrefix(s, idPrefix)
	if !ok || len(s) != idLen {
		return 0, false
	}
	var b [aes.BlockSize]byte
	if n, err := idEncoding.Decode(b[:], []byte(rest)); err != nil || n != len(b) {
		return 0, false
	}
	c.block.Decrypt(b[:], b[:])
	n := int64(binary.BigEndian.Uint64(b[:8]))
	if binary.BigEndian.Uint64(b[8:]) != 0 || n <= 0 {
		return 0, false
	}
	return n, true
}
