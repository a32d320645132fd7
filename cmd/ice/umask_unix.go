//go:build unix

package main

import "syscall"

// privateUmask makes every file and directory ice creates unreadable to other users of
// the machine, wherever it goes: the store, the warehouse, Temporal's database and log
// under an existing --data directory (whose own mode ice does not change), reports and
// temporary files. They hold patients' data, and a directory made 0755 by someone else
// would otherwise leave them 0644. Group access stays as the directory grants it.
// It returns the umask it replaced.
func privateUmask() int { return syscall.Umask(0o027) }
