//go:build unix

package app

import (
	"math"
	"syscall"
)

// openFileLimit returns the process's limit on open files — the soft limit,
// which Go raised to the hard limit as the process started — or 0 when it
// is unknown or too large to matter.
func openFileLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > math.MaxInt32 {
		return 0
	}
	return int(rl.Cur)
}
