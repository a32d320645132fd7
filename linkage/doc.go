// Package linkage is the domain core of consented linkage (SPEC §9, issue #15).
package linkage
