//go:build !unix

package app

// openFileLimit returns 0: the system has no open-file limit to stay below.
func openFileLimit() int { return 0 }
