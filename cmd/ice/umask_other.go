//go:build !unix

package main

// privateUmask: only Unix has a umask; elsewhere the files' access is the directory's.
func privateUmask() int { return 0 }
