package intake

import (
	"os"
	"syscall"
)

// startWriteback asks the kernel to start writing f's dirty pages to disk without
// waiting for them: a large output then reaches the disk while the intake is still
// computing, and the sync that stores it has little left to wait for. It is only a
// hint, so its error is ignored (the store's sync reports real write failures).
func startWriteback(f *os.File) {
	if os.Getenv("ICE_NOWB") != "" {
		return
	}
	const syncFileRangeWrite = 2 // SYNC_FILE_RANGE_WRITE: start writeback, do not wait
	_, _, _ = syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, f.Fd(), 0, 0, syncFileRangeWrite, 0, 0)
}
