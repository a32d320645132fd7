//go:build !linux

package intake

import "os"

// startWriteback is a Linux hint (sync_file_range); elsewhere the store's sync does
// all the writing.
func startWriteback(*os.File) {}
